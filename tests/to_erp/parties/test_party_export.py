"""The party job end to end: events through the real receiver, the record from the stand-in's
Query, the file on the real SFTP server, read back as the ERP reads it."""

from __future__ import annotations

import logging

import pytest

from tests.support.parties import COMPANIES, PartyWorld, c_line, customer, event_body

CUSTOMER = "CustomerChangedNotification"


def test_a_change_in_norce_reaches_the_erp_as_a_file_with_the_new_values(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.norce.change_customer(norce_id, LastName="Nyström", PhoneNumber="+4681234567",
                                InvoiceAddress={"AddressLine1": "Kungsgatan 2",
                                                "ZipCode": "41119", "City": "Göteborg",
                                                "CountryCode": "SE"})  # fmt: skip
    world.changed(norce_id)

    summary = world.run()

    assert (summary.error, summary.units, len(summary.files)) == (None, 1, 1)
    (name,) = summary.files
    assert sorted(world.remote()) == [name, f"{name}.done"]
    row = c_line(world.files()[name], norce_id)
    updated = world.norce.state.customers[norce_id]["Updated"]
    assert row == {
        "C": "C", "Code": "C-000123", "NorceId": str(norce_id), "FirstName": "Anna",
        "LastName": "Nyström", "Email": "anna@example.com", "Phone": "+4681234567",
        "CellPhone": "", "CareOf": "", "Address1": "Kungsgatan 2", "Address2": "",
        "Zip": "41119", "City": "Göteborg", "Country": "SE", "Active": "1",
        "ChangedInNorce": f"{updated[:10]} {updated[11:19]}", "Forgotten": "0",
    }  # fmt: skip
    with world.book() as book:
        (event,) = book.events()
        assert event.outcomes == (("erp_customers_csv", "exported", name),)
        assert book.unfinished_exports("erp_customers_csv") == []
    archived = world.settings.folder("archive") / "parties" / "exported" / "erp_customers_csv"
    assert [p.read_bytes() for p in archived.rglob("*.csv")] == [world.remote()[name]]


def test_a_second_run_uploads_nothing(world: PartyWorld) -> None:
    world.changed(customer(world))
    world.run()
    before = world.remote()
    again = world.run()
    assert (again.files, again.finished, again.uploaded_again, again.error) == ([], [], [], None)
    assert world.remote() == before
    assert not world.query.requests_for("Customers/Customers")[1:]  # no second fetch


def test_a_burst_of_events_for_one_customer_is_one_fetch_and_one_row(world: PartyWorld) -> None:
    norce_id = customer(world)
    other = customer(world, code="C-000124", email="bo@example.com", first_name="Bo")
    for n in range(3):  # three saves in Norce Admin: three events, told apart by their body
        world.norce.change_customer(norce_id, PhoneNumber=f"+46700000{n}")
        world.changed(norce_id, Sequence=n)
    world.changed(other)

    summary = world.run()

    (name,) = summary.files
    lines = world.files()[name]
    assert [line[:3] for line in lines if line[0] == "C"] == [
        ["C", "C-000123", str(norce_id)], ["C", "C-000124", str(other)],
    ]  # fmt: skip
    assert c_line(lines, norce_id)["Phone"] == "+467000002"  # the state after the last save
    assert len(world.query.requests_for("Customers/Customers")) == 2
    with world.book() as book:
        events = book.events()
    assert len(events) == 4
    assert {e.outcomes for e in events} == {(("erp_customers_csv", "exported", name),)}


def test_a_change_after_the_export_is_sent_again_even_with_the_same_body(
    world: PartyWorld,
) -> None:
    # [I] the payload may carry the id only: a second change looks exactly like the first.
    norce_id = customer(world)
    world.changed(norce_id)
    (first,) = world.run().files
    world.norce.change_customer(norce_id, FirstName="Anne")
    world.changed(norce_id)
    (second,) = world.run().files
    assert first != second
    assert c_line(world.files()[second], norce_id)["FirstName"] == "Anne"


def test_a_customer_without_a_code_goes_out_with_its_norce_id(world: PartyWorld) -> None:
    norce_id = world.norce.add_customer(first_name="Web", last_name="Shopper",
                                        email="web@example.com")  # fmt: skip
    world.changed(norce_id)
    (name,) = world.run().files
    row = c_line(world.files()[name], norce_id)
    assert (row["Code"], row["NorceId"], row["FirstName"]) == ("", str(norce_id), "Web")


def test_company_relations_are_r_lines(world: PartyWorld) -> None:
    company = world.norce.add_company(name="Bygg AB", organization_no="5560360793", code="K-5566")
    norce_id = customer(world, company="K-5566")
    world.changed(norce_id)
    (name,) = world.run().files
    relations = [line for line in world.files()[name] if line[0] == "R"]
    # The ERP knows its companies by number: Query links by Id, the number is looked up.
    assert relations == [["R", str(norce_id), str(company), "K-5566", "1"]]


def test_a_changed_company_goes_to_the_company_layout(world: PartyWorld) -> None:
    company = world.norce.add_company(name="Bygg AB", organization_no="5560360793")
    world.norce.change_company(company, Name="Bygg & Måleri AB", VatNo="SE556036079301")
    world.changed(company, key="CompanyId")
    assert world.run().files == []  # the customer layout has nothing to do
    summary = world.run("erp_companies_csv")
    (name,) = summary.files
    assert name.startswith("COMPANIES_")
    (line,) = world.files(COMPANIES)[name]
    assert line[:6] == ["", str(company), "Bygg & Måleri AB", "5560360793", "SE556036079301", ""]


def test_query_down_leaves_the_events_pending_and_the_next_run_delivers(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    world.norce.fail_next(3, status=503, path="Customers/Customers")  # every retry of the run

    down = world.run()

    assert down.error is not None and "503" in down.error
    assert (down.files, world.remote()) == ([], {})
    with world.book() as book:
        assert book.events()[0].outcomes == ()
    up = world.run()
    assert (up.error, up.units) == (None, 1)
    assert str(norce_id) in world.remote()[up.files[0]].decode("cp1252")


def test_a_record_gone_from_norce_is_reported_not_retried(
    world: PartyWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.changed(99999)  # no such customer in Norce
    with caplog.at_level(logging.WARNING):
        summary = world.run()
    assert (summary.gone, summary.files, summary.error) == (["99999"], [], None)
    assert "no customer 99999" in caplog.text
    with world.book() as book:
        assert book.events()[0].outcomes == (("erp_customers_csv", "gone", None),)
    assert world.run().gone == []  # reported once, not again
    assert len(world.query.requests_for("Customers/Customers")) == 1


def test_logs_name_event_ids_and_norce_ids_never_personal_data(
    world: PartyWorld, caplog: pytest.LogCaptureFixture
) -> None:
    norce_id = customer(world, PhoneNumber="+46709999999")
    with caplog.at_level(logging.DEBUG):
        world.changed(norce_id)
        world.run()
    assert f"customer {norce_id} booked as event" in caplog.text
    for value in ("Anna", "Andersson", "anna@example.com", "Storgatan", "+46709999999"):
        assert value not in caplog.text


def test_an_event_without_an_export_layout_waits_without_harm(world: PartyWorld) -> None:
    world.post(CUSTOMER, event_body(10001))
    (world.settings.schemas_dir / "parties" / "erp_customers_csv.toml").unlink()
    assert world.layouts.keys() == {"erp_companies_csv"}
    assert world.run("erp_companies_csv").files == []


def test_a_record_the_file_cannot_hold_is_held_until_the_policy_allows_it(
    world: PartyWorld,
) -> None:
    path = world.settings.schemas_dir / "parties" / "erp_customers_csv.toml"
    path.write_text(path.read_text().replace('unencodable = "replace"', 'unencodable = "hold"'))
    norce_id = customer(world, first_name="Åsa 🎉")
    world.changed(norce_id)

    held = world.run()

    assert held.files == [] and "U+1F389" in held.held[str(norce_id)]
    with world.book() as book:
        ((layout, outcome, reason),) = book.events()[0].outcomes
    assert (layout, outcome) == ("erp_customers_csv", "held") and "--retry-held" in (reason or "")
    assert world.run().held == {}  # held is settled: not fetched again every run
    path.write_text(path.read_text().replace('unencodable = "hold"', 'unencodable = "replace"'))
    with world.book() as book:
        assert book.release_held() == 1
    (name,) = world.run().files
    assert c_line(world.files()[name], norce_id)["FirstName"] == "Åsa ?"


def test_the_scheduler_runs_each_party_layout_as_a_job_of_its_own(world: PartyWorld) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from etl.jobs import party_jobs
    from etl.runtime import Runtime
    from etl.scheduler import add_jobs

    world.changed(customer(world))
    scheduler = BlockingScheduler(timezone="UTC")
    rt = Runtime.open(world.settings, sleep=lambda s: None)
    try:
        add_jobs(scheduler, rt, party_jobs(rt), None)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs) == ["companies->erp_companies_csv", "customers->erp_customers_csv"]
        job = jobs["customers->erp_customers_csv"]
        job.func(*job.args)  # as the scheduler's worker thread calls it
    finally:
        rt.close()
    assert len(world.files()) == 1


def test_a_company_line_reads_query_names_its_parent_code_and_an_iso_country(
    world: PartyWorld,
) -> None:
    # Query serves CompanyCode and ParentCompanyId [C], addresses apart with a CountryId.
    world.norce.add_company(name="Moder AB", organization_no="5560000001", code="K-0")
    company = world.norce.add_company(
        name="Bygg AB", organization_no="5560360793", code="K-1", ParentCompanyCode="K-0",
        InvoiceAddress={"AddressLine1": "Karl Johans gate 1", "ZipCode": "0154",
                        "City": "Oslo", "CountryCode": "NO"},
    )  # fmt: skip
    world.changed(company, key="CompanyId")

    summary = world.run("erp_companies_csv")

    (name,) = summary.files
    (line,) = world.files(COMPANIES)[name]
    assert line[:2] == ["K-1", str(company)]
    assert line[7:14] == ["K-0", "", "Karl Johans gate 1", "", "0154", "Oslo", "NO"]
