"""The demo's serving stage: start the model server, send real traffic through every protocol, read /metrics.

The server is ``modelyard serve`` itself, in its own process on a free loopback port (a client in
the same interpreter would share its GIL and time its own waits).
Requests are raw rows of the newest customers (``data/recent.parquet``), as a client would send
them; v1 answers and the shadow v2 listens in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

from modelyard._exceptions import ModelyardError
from modelyard.serve._log import read_prediction_log
from modelyard.serve._ready import wait_until_ready
from modelyard.serve._server import settings_environment
from modelyard.serve._workers import free_port_or_fail

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["DemoTraffic", "demo_stage"]

USE_CASE = "churn"


@dataclass
class DemoTraffic:
    """What the demo sent and what came back, per protocol."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    logged: pd.DataFrame | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    example: dict[str, Any] = field(default_factory=dict)


def _json_rows(raw: pd.DataFrame) -> list[dict[str, Any]]:
    """Raw rows as a client sends them: dates as ISO text, missing values as null."""
    frame = raw.drop(columns=["churned"], errors="ignore").copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _oip_body(records: list[dict[str, Any]]) -> bytes:
    """An Open Inference Protocol v2 request: one input tensor per column (MLServer's ``pd`` content type)."""
    inputs = []
    for name in records[0]:
        values = [r[name] for r in records]
        sample = next((v for v in values if v is not None), "")
        datatype = (
            "BOOL"
            if isinstance(sample, bool)
            else "INT64"
            if isinstance(sample, int)
            else "FP64"
            if isinstance(sample, float)
            else "BYTES"
        )
        if datatype == "FP64":
            values = [float("nan") if v is None else v for v in values]
        inputs.append({"name": name, "shape": [len(values)], "datatype": datatype, "data": values})
    return orjson.dumps({"id": "demo", "inputs": inputs, "parameters": {"content_type": "pd"}})


def _requests(rows: list[dict[str, Any]]) -> list[tuple[str, str, bytes, int]]:
    """(protocol, path, body, rows): 300 single-row plain requests, then 100-row MLflow and OIP batches."""
    plain = [(f"plain /predict/{USE_CASE}", f"/predict/{USE_CASE}", orjson.dumps(r), 1) for r in rows[:300]]
    batches = [rows[i : i + 100] for i in range(300, min(len(rows), 1300), 100)]
    mlflow = []
    oip = []
    for i, batch in enumerate(batches):
        columns = list(batch[0])
        if i % 2 == 0:
            split = {"columns": columns, "data": [[r[c] for c in columns] for r in batch]}
            mlflow.append(("MLflow /invocations", "/invocations", orjson.dumps({"dataframe_split": split}), len(batch)))
        else:
            oip.append(("OIP v2 /v2/models/churn/infer", f"/v2/models/{USE_CASE}/infer", _oip_body(batch), len(batch)))
    return plain + mlflow + oip


async def _send(url: str, requests: list[tuple[str, str, bytes, int]], traffic: DemoTraffic, concurrency: int) -> None:
    import httpx

    queue: asyncio.Queue[tuple[str, str, bytes, int]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    headers = {"Content-Type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            protocol, path, body, n = queue.get_nowait()
            t0 = time.perf_counter()
            response = await client.post(path, content=body, headers=headers)
            traffic.latencies_ms[protocol].append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                traffic.failures[protocol] += 1
                continue
            traffic.rows[protocol] += n
            if protocol.startswith("plain") and not traffic.example:
                traffic.example = response.json()

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


def _scrape(text: str) -> dict[str, float]:
    """A few totals from the Prometheus text: requests, batches, mean batch size, GC pauses."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            key = f"v{labels.get('version', '')} {labels.get('role', '')}".strip()
            if sample.name == "modelyard_requests_total" and labels.get("outcome") == "ok":
                out[f"requests {key}"] += sample.value
            elif sample.name == "modelyard_batch_size_rows_count":
                out[f"batches {key}"] += sample.value
            elif sample.name == "modelyard_batch_size_rows_sum":
                out[f"batch rows {key}"] += sample.value
            elif sample.name == "modelyard_predictions_logged_total":
                out[f"logged {key}"] += sample.value
            elif sample.name == "modelyard_gc_pause_seconds_count":
                out["gc pauses"] += sample.value
            elif sample.name == "modelyard_gc_pause_seconds_sum":
                out["gc seconds"] += sample.value
    return dict(out)


def run_traffic(yard: Yard, *, concurrency: int = 16) -> DemoTraffic:
    """Start ``modelyard serve`` for ``yard`` in its own process on a free loopback port, send the
    demo traffic, scrape /metrics, stop it with SIGTERM (it drains and flushes its log); return what
    happened."""
    import httpx

    raw = pd.read_parquet(yard.settings.root / "data" / "recent.parquet")
    requests = _requests(_json_rows(raw))
    traffic = DemoTraffic()
    with _server_process(yard) as url:
        asyncio.run(_send(url, requests, traffic, concurrency))
        time.sleep(0.5)  # shadows are scored off the response path; let them land before counting
        traffic.metrics = _scrape(httpx.get(f"{url}/metrics", timeout=30).text)
    traffic.logged = read_prediction_log(yard, USE_CASE)  # the server flushed it on SIGTERM
    return traffic


@contextlib.contextmanager
def _server_process(yard: Yard) -> Iterator[str]:
    """``modelyard serve`` in a child process, as a team runs it (not sharing the demo's interpreter)."""

    port = free_port_or_fail("127.0.0.1", 0)
    env = dict(os.environ, MODELYARD_SERVE_LOG_FLUSH_SECONDS="0.5")  # the log goes where the yard's server logs
    env.update(settings_environment(yard.settings))
    command = [sys.executable, "-m", "modelyard", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            if not wait_until_ready(url, proc):
                output.seek(0)
                said = output.read().decode(errors="replace")
                raise ModelyardError(f"The model server did not start: {said}")
            yield url
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _table(traffic: DemoTraffic) -> Table:
    table = Table(title="Traffic through each protocol (client side)", title_justify="left")
    for col in ("protocol", "requests", "rows", "failed", "p50 ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "protocol" else "right")
    for protocol, lat in traffic.latencies_ms.items():
        arr = np.array(lat)
        table.add_row(
            protocol,
            f"{len(arr):,}",
            f"{traffic.rows[protocol]:,}",
            str(traffic.failures[protocol]),
            f"{np.percentile(arr, 50):.1f}",
            f"{np.percentile(arr, 99):.1f}",
        )
    return table


def _server_table(traffic: DemoTraffic) -> Table:
    m = traffic.metrics
    table = Table(title="What the server counted (/metrics) and logged", title_justify="left")
    for col in ("version", "requests answered", "model calls", "rows per call", "rows in the prediction log"):
        table.add_column(col, justify="left" if col == "version" else "right")
    logged = traffic.logged
    for key in sorted(k.removeprefix("batches ") for k in m if k.startswith("batches ")):
        calls = m.get(f"batches {key}", 0.0)
        version, role = key.split(" ")
        in_log = 0
        if logged is not None and len(logged):
            in_log = int(((logged["version"] == int(version[1:])) & (logged["role"] == role)).sum())
        table.add_row(
            key,
            f"{m.get(f'requests {key}', 0):,.0f}" if role != "shadow" else "- (listens)",
            f"{calls:,.0f}",
            f"{m.get(f'batch rows {key}', 0) / calls:.1f}" if calls else "-",
            f"{in_log:,}",
        )
    return table


def demo_stage(yard: Yard, console: Console) -> DemoTraffic:
    """Serve the demo yard, send a burst through each protocol, show the answers and the metrics."""
    with console.status("starting the model server and sending traffic through each protocol"):
        traffic = run_traffic(yard)
    example = traffic.example
    if example:
        first = example["predictions"][0]
        console.print(
            f"A plain request answered by [bold]v{example['version']}[/] ({example['role']}): "
            f"score {first['score']:.3f}, decision {'act' if first['decision'] else 'leave'} "
            f"at threshold {example['threshold']:.3f}, request id {example['request_id'][:12]}…"
        )
    console.print(_table(traffic))
    console.print(_server_table(traffic))
    pauses, seconds = traffic.metrics.get("gc pauses", 0), traffic.metrics.get("gc seconds", 0)
    console.print(
        f"Garbage-collector pauses while serving: {pauses:,.0f}, {seconds * 1000:.1f} ms "
        "in all (the server froze its heap after loading the models)."
    )
    console.print(
        "The shadow v2 scored the same requests off the response path; its answers are only logged, "
        "for the comparison the evaluation and monitoring make. Serve it yourself with "
        "[bold]modelyard serve[/] (docs at /docs)."
    )
    return traffic
