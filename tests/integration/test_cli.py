"""The `ccaas` command as a user runs it: serve on the embedded Redis, rules check, bench."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ccaas.runtime.embedded_redis import free_port

CCAAS = [sys.executable, "-m", "ccaas.cli"]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain `text` (read from /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        if text in line:
            found.append(line)
    return found


def test_serve_starts_embedded_redis_answers_health_and_stops_it(
    tmp_path: Path, repo_root: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")}
    env |= {"CCAAS_HTTP_PORT": str(port), "CCAAS_DATA_DIR": str(tmp_path / "var")}
    env["CCAAS_SMTP_PORT"] = str(free_port())
    server = subprocess.Popen([*CCAAS, "serve", "--demo"], cwd=repo_root, env=env)
    try:
        body = None
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                    body = json.load(response)
                    break
            except OSError:
                time.sleep(0.05)
        assert body is not None
        mqtt = body.pop("mqtt")
        assert body.pop("smtp") == f"127.0.0.1:{env['CCAAS_SMTP_PORT']}"
        assert body == {"status": "ok", "redis": "reachable", "rules_version": 1}
        assert re.fullmatch(r"mqtt://127\.0\.0\.1:[0-9]+", mqtt), mqtt
        with socket.create_connection(("127.0.0.1", int(mqtt.rsplit(":", 1)[1])), timeout=5):
            pass  # the embedded broker listens there
        with smtplib.SMTP("127.0.0.1", int(env["CCAAS_SMTP_PORT"]), timeout=5) as smtp:
            assert smtp.noop()[0] == 250  # and so does the email listener
        with pytest.raises(urllib.error.HTTPError) as refused:  # sign-in is on by default
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/agents")
        assert refused.value.code == 401
        refused.value.close()
        secret = tmp_path / "var" / "auth-secret"
        assert secret.stat().st_mode & 0o777 == 0o600
        made = subprocess.run(
            [*CCAAS, "token", "create", "--role", "supervisor", "--name", "sup"],
            cwd=repo_root, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        headers = {"Authorization": "Bearer " + made.stdout.splitlines()[-1]}
        agents = urllib.request.Request(f"http://127.0.0.1:{port}/v1/agents", headers=headers)
        with urllib.request.urlopen(agents) as response:
            assert len(json.load(response)) == 42  # the demo centre from seeds/, 2 for people
        assert _sign_in(port, "desk1", "ccaas-demo") == 200  # the demo's console credentials
        subprocess.run(
            [*CCAAS, "agents", "password", "desk2", "--password-stdin"],
            cwd=repo_root, env=env, input="a-new-password\n", text=True, check=True,
        )  # fmt: skip
        assert _sign_in(port, "desk2", "ccaas-demo") == 401
        assert _sign_in(port, "desk2", "a-new-password") == 200
        assert _demo_agents_answer(port, headers), "no demo agent answered an offer"
        assert (tmp_path / "var" / "redis" / "appendonly.aof").exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    assert code == 0
    assert not processes_mentioning(str(tmp_path)), "the embedded redis or broker outlived serve"


def _sign_in(port: int, agent_id: str, password: str) -> int:
    body = json.dumps({"agent_id": agent_id, "password": password}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/auth/sign-in",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def _demo_agents_answer(port: int, headers: dict[str, str], seconds: float = 20.0) -> bool:
    """Whether some agent is connected to a contact within `seconds` (demo agents answer
    after a few; nobody else answers in the demo)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/agents", headers=headers)
        with urllib.request.urlopen(request) as response:
            agents = json.load(response)
        if any(w["state"] == "connected" for a in agents for w in a["work"]):
            return True
        time.sleep(0.5)
    return False


def test_rules_check_accepts_the_example_and_names_a_bad_field(
    tmp_path: Path, repo_root: Path
) -> None:
    good = subprocess.run(
        [*CCAAS, "rules", "check", "config/routing.yaml"], cwd=repo_root, capture_output=True
    )
    assert good.returncode == 0, good.stderr
    bad_file = tmp_path / "routing.yaml"
    example = (repo_root / "config" / "routing.yaml").read_text()
    bad_file.write_text(example.replace("strategy: longest-idle", "strategy: longest_idle", 1))
    bad = subprocess.run([*CCAAS, "rules", "check", str(bad_file)], capture_output=True, text=True)
    assert bad.returncode != 0
    line = example.splitlines().index("    strategy: longest-idle") + 1
    assert f"{bad_file}:{line}: queues.billing.strategy" in bad.stderr
    assert "did you mean 'longest-idle'?" in bad.stderr


def test_rules_check_names_the_line_of_a_broken_condition(tmp_path: Path, repo_root: Path) -> None:
    example = (repo_root / "config" / "routing.yaml").read_text()
    good = subprocess.run(
        [*CCAAS, "rules", "check", "config/routing.yaml"], cwd=repo_root, capture_output=True
    )
    assert good.returncode == 0 and b"ok; 8 queues" in good.stdout
    condition = 'when: customer.tier == "gold"'
    line = next(i for i, text in enumerate(example.splitlines(), 1) if condition in text)
    bad_file = tmp_path / "routing.yaml"
    bad_file.write_text(example.replace(condition, condition + " &&", 1))
    bad = subprocess.run([*CCAAS, "rules", "check", str(bad_file)], capture_output=True, text=True)
    assert bad.returncode != 0
    assert f"{bad_file}:{line}: classification.0.when:" in bad.stderr
    assert "does not compile" in bad.stderr


def test_rules_check_refuses_a_condition_that_is_not_true_or_false(
    tmp_path: Path, repo_root: Path
) -> None:
    example = (repo_root / "config" / "routing.yaml").read_text()
    condition = 'when: customer.tier == "gold"'
    line = next(i for i, text in enumerate(example.splitlines(), 1) if condition in text)
    bad_file = tmp_path / "routing.yaml"
    bad_file.write_text(example.replace(condition, "when: customer.tier", 1))
    bad = subprocess.run([*CCAAS, "rules", "check", str(bad_file)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert (
        f"{bad_file}:{line}: classification.0.when: condition 'customer.tier': "
        "gives a string, not true or false"
    ) in bad.stderr


def bench(
    tmp_path: Path, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`ccaas bench ...` with a TMPDIR of its own and no CCAAS_ settings, so that it starts its
    own embedded redis-server; the run, and that TMPDIR."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")}
    env |= {"TMPDIR": str(temp), "CCAAS_LOG_LEVEL": "INFO"}
    run = subprocess.run(
        [*CCAAS, "bench", *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    return run, temp


def assert_left_nothing(temp: Path) -> None:
    assert list(temp.iterdir()) == []
    assert not processes_mentioning(str(temp)), "the embedded redis-server outlived the bench"


@pytest.mark.slow
def test_bench_routing_prints_only_json_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    run, temp = bench(
        tmp_path, "routing", "--agents", "20", "--contacts", "200", "--json", timeout=180
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert set(result) >= {
        "routed_per_s", "lifecycle_per_s", "p50_ms", "p99_ms", "redis_ceiling_per_s",
        "agents", "contacts",
    }  # fmt: skip
    assert result["agents"] == 20 and result["contacts"] == 200
    assert result["routed_per_s"] > 0 and result["lifecycle_per_s"] > 0
    assert 0 <= result["p50_ms"] <= result["p99_ms"]
    assert_left_nothing(temp)
    # a log line per contact would be timed with it (and bury a real warning)
    logged = [line for line in run.stderr.splitlines() if "offer_accepted" in line]
    assert logged == [], f"{len(logged)} offer_accepted lines while measuring"


RATE_FIELDS = {"rate_per_s": float, "p50_ms": float, "p99_ms": float}
OVERLOAD_FIELDS = {
    "max_routed_per_s": float, "overload_routed_per_s": float, "lost": int,
    "drain_seconds": float,
}  # fmt: skip


@pytest.mark.slow
def test_bench_routing_at_a_set_rate_and_in_overload_reports_latency_loss_and_drain(
    tmp_path: Path,
) -> None:
    sizes = ["--agents", "10", "--contacts", "100"]
    run, temp = bench(tmp_path, "routing", *sizes, "--rate", "50", "--overload", "2", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # the whole of stdout is one JSON document
    fields = RATE_FIELDS | OVERLOAD_FIELDS
    assert {k: type(result.get(k)) for k in fields} == fields, result
    assert result["rate_per_s"] == 50.0 and result["latency_samples"] == 250
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["max_routed_per_s"] == result["routed_per_s"] > 0
    assert result["overload_routed_per_s"] > 0 and result["drain_seconds"] >= 0
    assert result["lost"] == 0, "a contact was not offered exactly once under overload"
    assert_left_nothing(temp)


SCALE_FIELDS = {
    "name": str, "agents": int, "waiting": int, "round_p50_ms": float, "round_p99_ms": float,
    "checks_per_offer": float, "offers_per_s": float, "redis_bytes_per_waiting": float,
    "state_build_ms": float,
}  # fmt: skip


@pytest.mark.slow
def test_bench_scale_prints_each_scenario_as_json_and_leaves_no_temporary_folder(
    tmp_path: Path,
) -> None:
    sizes = ["--sizes", "100x10,1000x100", "--rounds", "3", "--sample", "100"]
    run, temp = bench(tmp_path, "scale", *sizes, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert set(result) == {"scenarios", "cost_growth"}
    assert isinstance(result["cost_growth"], float) and result["cost_growth"] > 0
    scenarios = result["scenarios"]
    assert [(s["waiting"], s["agents"]) for s in scenarios] == [(100, 10), (1000, 100)]
    for scenario in scenarios:
        assert {k: type(v) for k, v in scenario.items()} == SCALE_FIELDS, scenario
        assert 0 < scenario["round_p50_ms"] <= scenario["round_p99_ms"]
        assert scenario["checks_per_offer"] >= 1 and scenario["offers_per_s"] > 0
        assert 0 < scenario["redis_bytes_per_waiting"] < 100_000
    assert_left_nothing(temp)


def test_bench_scale_names_a_size_it_cannot_read() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")}
    run = subprocess.run(
        [*CCAAS, "bench", "scale", "--sizes", "1000x100,10k", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert run.returncode == 2
    assert "size '10k' is not WAITINGxAGENTS" in run.stderr
    assert run.stdout == ""


def test_serve_refuses_an_unknown_setting_at_start(tmp_path: Path, repo_root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")}
    env |= {"CCAAS_REDIS_URI": "redis://127.0.0.1:1/0", "CCAAS_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [*CCAAS, "serve"], cwd=repo_root, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _, stderr = server.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # it started: stop it as a user would, Redis with it
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=20)
        raise AssertionError("serve started despite an unknown setting") from None
    assert server.returncode == 2
    assert "CCAAS_REDIS_URI is not a setting; did you mean CCAAS_REDIS_URL?" in stderr
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_an_engine_killed_leaves_no_embedded_server_behind(tmp_path: Path, repo_root: Path) -> None:
    """kill -9 of `ccaas serve` (an OOM kill, a crash): its embedded redis-server and MQTT
    broker end with it, so an engine started again does not leave one more behind each time."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAAS_")}
    env |= {"CCAAS_HTTP_PORT": str(port), "CCAAS_DATA_DIR": str(tmp_path / "var"),
            "CCAAS_SMTP_PORT": "0"}  # fmt: skip
    server = subprocess.Popen([*CCAAS, "serve"], cwd=repo_root, env=env)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        assert len(_servers_in(tmp_path)) == 2, _servers_in(tmp_path)  # redis and the broker
    finally:
        server.kill()
        server.wait()
    for _ in range(100):
        if not _servers_in(tmp_path):
            break
        time.sleep(0.05)
    assert not _servers_in(tmp_path), "an embedded server outlived its engine"


def _servers_in(folder: Path) -> list[str]:
    """Processes started for `folder`: named in their command line (the broker's config) or
    working in it (redis-server runs in its data folder and rewrites its command line)."""
    found = set(processes_mentioning(str(folder)))
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if str(cwd.resolve()).startswith(str(folder)):
                found.add(cwd.parent.name)
        except OSError:
            continue
    return sorted(found)
