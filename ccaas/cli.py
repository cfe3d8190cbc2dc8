"""The `ccaas` command: serve, bench routing and scale, rules check, token create, agents
password."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .domain.rules.compiled import summary
from .errors import CcaasError
from .runtime import event_loop
from .runtime.logging import configure_logging
from .runtime.rules_sync import load_rules_file
from .runtime.settings import Settings, load_settings


def _settings_table() -> str:
    lines = ["settings (environment variables):"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else "(none)"
        lines.append(f"  CCAAS_{name.upper():<20} {field.description} [default: {default}]")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccaas", description="Contact-centre routing engine")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the HTTP API and the router",
        epilog=_settings_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--demo", action="store_true", help="load the demo centre from seeds/")
    serve.add_argument("--seeds", type=Path, default=Path("seeds"), help="demo data folder")
    serve.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")

    rules = commands.add_parser("rules", help="the routing configuration")
    rules.add_argument("action", choices=["check"], help="check: validate a routing file")
    rules.add_argument("file", type=Path)

    token = commands.add_parser("token", help="bearer tokens for integrations and people")
    token_actions = token.add_subparsers(dest="action", required=True)
    create = token_actions.add_parser("create", help="print a new token (alone on its last line)")
    create.add_argument(
        "--role", required=True, choices=["admin", "supervisor", "agent", "adapter"]
    )
    create.add_argument("--name", required=True, help="who holds it (an agent's id for agent)")
    create.add_argument("--days", type=int, default=90, help="how long it is valid (1-3650)")
    create.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")

    agents = commands.add_parser("agents", help="agents' sign-in")
    agent_actions = agents.add_subparsers(dest="action", required=True)
    password = agent_actions.add_parser(
        "password", help="set an agent's password through the running engine"
    )
    password.add_argument("agent_id")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")

    bench = commands.add_parser("bench", help="benchmarks that print JSON")
    bench_kinds = bench.add_subparsers(dest="kind", required=True)
    routing = bench_kinds.add_parser("routing", help="routing throughput and latency")
    routing.add_argument("--agents", type=int, default=1000)
    routing.add_argument("--contacts", type=int, default=50000)
    routing.add_argument(
        "--rate", type=float, help="arrivals/s of the latency run (default: half the routed rate)"
    )
    routing.add_argument(
        "--overload", type=float, metavar="F", help="also run arrivals at F x the routed rate"
    )
    routing.add_argument("--json", action="store_true", help="print only JSON on stdout")
    routing.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")
    scale = bench_kinds.add_parser("scale", help="routing round cost and Redis memory by size")
    scale.add_argument(
        "--sizes",
        default="1000x100,10000x1000,100000x10000",
        help="scenarios as WAITINGxAGENTS, comma-separated",
    )
    scale.add_argument("--rounds", type=int, default=50, help="planning rounds timed per size")
    scale.add_argument("--sample", type=int, default=2000, help="contacts enqueued for memory")
    scale.add_argument("--json", action="store_true", help="print only JSON on stdout")
    scale.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")
    console = bench_kinds.add_parser("console", help="offer delivery to N agents' websockets")
    console.add_argument("--agents", type=int, default=1000, help="consoles connected at once")
    console.add_argument("--rate", type=float, default=100.0, help="offers per second")
    console.add_argument("--seconds", type=float, default=10.0, help="how long offers arrive")
    console.add_argument("--json", action="store_true", help="print only JSON on stdout")
    console.add_argument("--env-file", type=Path, help="read CCAAS_* settings from this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "rules":
            counts = summary(load_rules_file(args.file))
            print(f"{args.file}: ok; " + ", ".join(f"{n} {what}" for what, n in counts.items()))
            return 0
        settings = load_settings(args.env_file)
        level = settings.log_level
        if args.command == "bench" and level.upper() in ("DEBUG", "INFO"):
            level = "WARNING"  # a line per contact would be measured too (as its router's)
        configure_logging(settings.log_format, level)
        if args.command == "token":
            from .runtime.credentials_cli import create_token

            print(create_token(settings, args.role, args.name, args.days))
            return 0
        if args.command == "agents":
            from .runtime.credentials_cli import read_new_password, set_agent_password

            new_password = read_new_password(args.password_stdin)
            print(event_loop.run(set_agent_password(settings, args.agent_id, new_password)))
            return 0
        if args.command == "serve":
            from .runtime.server import serve

            event_loop.run(serve(settings, demo=args.demo, seeds_dir=args.seeds))
            return 0
        if args.command == "bench" and args.kind == "scale":
            from .sim.bench_scale import parse_sizes, run_scale_bench

            sizes = parse_sizes(args.sizes)
            bench_run = run_scale_bench(settings, sizes, args.rounds, args.sample, args.json)
            return event_loop.run(bench_run)
        if args.command == "bench" and args.kind == "console":
            from .sim.bench_console import run_console_bench

            console_run = run_console_bench(
                settings, args.agents, args.rate, args.seconds, args.json
            )
            return event_loop.run(console_run)
        if args.command == "bench":
            from .sim.bench_routing import run_routing_bench

            bench_run = run_routing_bench(
                settings, args.agents, args.contacts, args.json, args.rate, args.overload
            )
            return event_loop.run(bench_run)
    except CcaasError as exc:
        print(f"ccaas: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
