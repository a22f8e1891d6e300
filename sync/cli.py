"""`grid-terminal`: the reference terminal on the command line."""

import argparse
import getpass
import json
import sys
from pathlib import Path

from sync.client import Client, ServerRefused, Unreachable, progress_bar
from sync.recheck import RecheckInvalid, queue_recheck


def main(argv=None):
    """Run one terminal command; exit 0 on success, 1 when something needs attention."""
    parser = argparse.ArgumentParser(prog="grid-terminal", description=__doc__)
    parser.add_argument("--outbox", default="terminal.sqlite3", help="the terminal's data file")
    parser.add_argument("--retries", type=int, default=6,
                        help="retries with exponential backoff on network errors and 5xx")
    commands = parser.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", help="register this terminal with the server")
    login.add_argument("--server", required=True)
    login.add_argument("--user", required=True)
    login.add_argument("--password", help="read from standard input when omitted")
    login.add_argument("--device-uid")
    commands.add_parser("pull", help="fetch what changed in your cells")
    record = commands.add_parser(
        "record", help="queue a record from a JSON file: an inspection, or an order issued on "
                       "site (naming the visit's inspection by inspection_client_uuid), ...")
    record.add_argument("json_file")
    record.add_argument("photos", nargs="*")
    record.add_argument("--type", default="inspection",
                        choices=["inspection", "inspection_revision", "premises_update", "order",
                                 "order_move"])
    recheck = commands.add_parser(
        "recheck", help="queue a recheck (整改复查) of a pulled order: a result for each finding")
    recheck.add_argument("order_id", type=int)
    recheck.add_argument("--compliant", nargs="*", default=[], metavar="CODE",
                         help="findings compliant now")
    recheck.add_argument("--non-compliant", nargs="*", default=[], metavar="CODE=NOTE",
                         help="findings still not compliant, with what was found")
    recheck.add_argument("--photo", nargs="*", default=[], metavar="[CODE=]PATH",
                         help="photos: of a finding (CODE=PATH) or of the visit (PATH)")
    recheck.add_argument("--findings", default="", help="the recheck's own words")
    commands.add_parser("push", help="send queued photos and records")
    commands.add_parser("status", help="what is queued, sent, missing, rejected and why")
    args = parser.parse_args(argv)

    client = Client(args.outbox, retries=max(0, args.retries),
                    progress=progress_bar if sys.stderr.isatty() else None)
    try:
        return COMMANDS[args.command](client, args)
    except ServerRefused as error:
        print(f"refused: {error.code}: {error.message}", file=sys.stderr)
        if error.code in ("device_revoked", "device_expired", "device_token_invalid"):
            print("Sign in again with `grid-terminal login`; the outbox is kept.", file=sys.stderr)
        return 1
    except Unreachable as error:
        print(f"server unreachable; nothing lost, try again later ({error})", file=sys.stderr)
        return 1
    finally:
        client.close()


def _login(client, args):
    password = args.password
    if password is None:
        password = getpass.getpass() if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    answer = client.login(args.server, args.user, password, device_uid=args.device_uid)
    print(f"Registered device {answer['device']['device_uid']} for {answer['user']['username']} "
          f"until {answer['expires_at']}.")
    return 0


def _pull(client, args):
    print(f"{client.pull()} change(s) applied.")
    return 0


def _record(client, args):
    data = json.loads(Path(args.json_file).read_text(encoding="utf-8"))
    uuid = client.outbox.add_record(args.type, data, args.photos)
    print(f"Queued {args.type} {uuid} with {len(args.photos)} photo(s).")
    return 0


def _recheck(client, args):
    non_compliant, photos, item_photos = {}, [], {}
    for entry in args.non_compliant:
        code, _, note = entry.partition("=")
        non_compliant[code] = note
    for entry in args.photo:
        code, sep, path = entry.partition("=")
        if sep:
            item_photos.setdefault(code, []).append(path)
        else:
            photos.append(entry)
    try:
        uuid = queue_recheck(client.outbox, args.order_id, compliant=args.compliant,
                             non_compliant=non_compliant, photos=photos,
                             item_photos=item_photos, findings=args.findings)
    except (RecheckInvalid, OSError) as error:
        print(f"not queued: {error}", file=sys.stderr)
        return 1
    print(f"Queued recheck {uuid} of order {args.order_id}; push to send it.")
    return 0


def _push(client, args):
    summary = client.push()
    print(", ".join(f"{count} {name}" for name, count in summary.items()))
    if summary["rejected"] or summary["conflict"] or summary["photos_rejected"]:
        print("Some records or photos need attention: grid-terminal status", file=sys.stderr)
        return 1
    return 0


def _status(client, args):
    print(json.dumps(client.outbox.status(), ensure_ascii=False, indent=2))
    return 0


COMMANDS = {"login": _login, "pull": _pull, "record": _record, "recheck": _recheck,
            "push": _push, "status": _status}

if __name__ == "__main__":
    sys.exit(main())
