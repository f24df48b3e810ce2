"""The Norce Commerce stand-in, one module per service it imitates.

- `auth`: the identity server's OAuth2 token endpoint.
- `connect`: Connect's `Import*` methods and their jobs (`jobs`), checked against `contract`,
  applied to `state` (`products` for ImportProducts, `customers` for customers and companies,
  `records` for the tables); `answers` is what every service replies with.
- `orders`: Connect's Order service (status, delivery notes, invoices, credits).
- `query`: Norce Commerce Query (OData): orders, invoices, parties, code lists; its
  `$filter` grammar in `odata_filter`.
- `app`: `NorceStandin` puts them together behind one lock with failure injection, and
  `run_norce_standin` serves it on 127.0.0.1.
- `samples`: small, valid Connect calls and raw requests for tests of the stand-in itself.
"""
