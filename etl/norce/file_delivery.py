"""File-mode delivery: each call written to `outbox/norce/<batch>/` exactly as it would be posted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from etl.norce.calls import CallResult, NorceCall
from etl.settings import NorceSettings


class FileDelivery:
    """Writes `<label>.json` (the body) and `<label>.request.json` (method, path, headers)."""

    def __init__(self, outbox: Path, settings: NorceSettings) -> None:
        self.folder = outbox / "norce"
        self.settings = settings

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """Write every call; a re-run of the same batch overwrites it with the same bytes."""
        folder = self.folder / batch
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        wanted = set()
        for call in calls:
            body = call.body_bytes()
            request = {
                "method": "POST",
                "path": f"{self.settings.connect_path}/{call.method}",
                "headers": {
                    "X-StormConnect-Header": call.header_line(),
                    "Content-Type": "application/json",
                },
                "items": len(call.items),
            }
            _write(folder / f"{call.label}.json", body)
            _write(folder / f"{call.label}.request.json", json.dumps(request, indent=2).encode())
            wanted |= {f"{call.label}.json", f"{call.label}.request.json"}
            results.append(
                CallResult(
                    call.label,
                    call.method,
                    len(call.items),
                    len(body),
                    location=str(folder / f"{call.label}.json"),
                )
            )
        for stale in folder.iterdir():
            if stale.name not in wanted:
                stale.unlink()  # left by an interrupted attempt that chunked differently
        return results


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.part")
    temp.write_bytes(data)
    temp.replace(path)
