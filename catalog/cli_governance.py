"""CLI commands for governance: `user`, `group`, `token`, `grant`, `audit`.

Run on the catalog's own machine by its operator, they act as the local administrator (whoever can run them
can already read the store). Every change is written to the audit log. Passwords are read from stdin, never
from the command line (which other users of the machine can see in the process list).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from catalog.cli import JsonFlag, _actor, _settings, app, emit_json, handles_errors

user_app = typer.Typer(no_args_is_help=True, help="Users of a server-mode catalog.")
group_app = typer.Typer(no_args_is_help=True, help="Groups (teams): grants and roles shared by members.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens (shown once, stored hashed, always expiring).")
grant_app = typer.Typer(no_args_is_help=True, help="Grants: a permission on a dataset or a name prefix.")
audit_app = typer.Typer(no_args_is_help=True, help="The append-only audit log.")
for sub, name in ((user_app, "user"), (group_app, "group"), (token_app, "token"), (grant_app, "grant"),
                  (audit_app, "audit")):
    app.add_typer(sub, name=name)

Roles = Annotated[list[str] | None, typer.Option("--role", help="viewer, analyst, publisher, owner, steward, "
                                                                "admin (repeatable).")]


def _password() -> str:
    return sys.stdin.readline().rstrip("\n")


@user_app.command("add")
@handles_errors
def user_add(name: str, role: Roles = None,
             password_stdin: Annotated[bool, typer.Option(help="Read a web login password from stdin.")] = False,
             token_days: Annotated[int | None, typer.Option(
                 help="Also create an API token living this many days; it alone goes to stdout.")] = None,
             as_json: JsonFlag = False) -> None:
    """Create a user (lowercase name) with roles; with --token-days, also their first API token (this is how
    the first admin of a server-mode catalog gets one)."""
    from catalog.db import session_scope
    from catalog.principals import add_user, create_token

    actor = _actor()
    with session_scope(_settings()) as session:
        result = add_user(session, actor, name, role or ["viewer"], _password() if password_stdin else None)
        if token_days is not None:
            result["token"] = create_token(session, actor, result["name"], token_days, "created with the user")
    if as_json:
        emit_json(result)
        return
    line = f"user {result['name']} ({', '.join(result['roles'])})"
    if "token" in result:
        typer.echo(line + f"; token {result['token']['prefix']}… printed on stdout, shown only once", err=True)
        typer.echo(result["token"]["token"])
    else:
        typer.echo(line)


@user_app.command("list")
@handles_errors
def user_list(as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import list_users

    with session_scope(_settings()) as session:
        users = list_users(session, _actor())
    if as_json:
        emit_json({"users": users})
        return
    for user in users:
        typer.echo(f"{user['name']}  {', '.join(user['roles'])}" + ("  (disabled)" if user["disabled"] else ""))


@user_app.command("set")
@handles_errors
def user_set(name: str, role: Roles = None,
             disable: Annotated[bool | None, typer.Option("--disable/--enable")] = None,
             password_stdin: Annotated[bool, typer.Option(help="Read a new password from stdin.")] = False,
             as_json: JsonFlag = False) -> None:
    """Change a user's roles, disable or enable them (their tokens stop or resume), or set a password."""
    from catalog.db import session_scope
    from catalog.principals import set_user

    with session_scope(_settings()) as session:
        result = set_user(session, _actor(), name, roles=role, disabled=disable,
                          password=_password() if password_stdin else None)
    emit_json(result) if as_json else typer.echo(f"user {result['name']} ({', '.join(result['roles'])})"
                                                 + (" disabled" if result["disabled"] else ""))


@group_app.command("add")
@handles_errors
def group_add(name: str, role: Roles = None, as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import add_group

    with session_scope(_settings()) as session:
        result = add_group(session, _actor(), name, role or [])
    emit_json(result) if as_json else typer.echo(f"group {result['name']}")


@group_app.command("member")
@handles_errors
def group_member(group: str, user: str,
                 remove: Annotated[bool, typer.Option(help="Remove instead of add.")] = False,
                 as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import set_member

    with session_scope(_settings()) as session:
        result = set_member(session, _actor(), group, user, not remove)
    emit_json(result) if as_json else typer.echo(f"group {result['name']}: {', '.join(result['members']) or '-'}")


@token_app.command("create")
@handles_errors
def token_create(user: str, days: Annotated[int, typer.Option(help="Lifetime in days (1-366).")] = 90,
                 label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
                 as_json: JsonFlag = False) -> None:
    """Create an API token; it is printed once and cannot be shown again."""
    from catalog.db import session_scope
    from catalog.principals import create_token

    with session_scope(_settings()) as session:
        result = create_token(session, _actor(), user, days, label)
    if as_json:
        emit_json(result)
    else:
        typer.echo(result["token"])
        typer.echo(f"token {result['prefix']}… for {result['user']}, expires {result['expires_at']}; "
                   "store it now: it is not shown again", err=True)


@token_app.command("list")
@handles_errors
def token_list(user: str, as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import list_tokens

    with session_scope(_settings()) as session:
        tokens = list_tokens(session, _actor(), user)
    if as_json:
        emit_json({"tokens": tokens})
        return
    for token in tokens:
        typer.echo(f"{token['id']}  {token['prefix']}…  {token['state']}  expires {token['expires_at']}  "
                   f"{token['label'] or ''}")


@token_app.command("revoke")
@handles_errors
def token_revoke(token_id: int, as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import revoke_token

    with session_scope(_settings()) as session:
        result = revoke_token(session, _actor(), token_id)
    emit_json(result) if as_json else typer.echo(f"token {result['prefix']}… {result['state']}")


@grant_app.command("add")
@handles_errors
def grant_add(principal: str, target: str, permission: str,
              group: Annotated[bool, typer.Option(help="PRINCIPAL is a group.")] = False,
              days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
              reason: Annotated[str | None, typer.Option(help="Why (shown in the access review).")] = None,
              as_json: JsonFlag = False) -> None:
    """Grant PERMISSION (discover, read_metadata, read_data, read_pii, publish, manage) on TARGET (a dataset,
    a prefix ending in '/', or '*') to a user or group."""
    from catalog.db import session_scope
    from catalog.principals import add_grant

    with session_scope(_settings()) as session:
        result = add_grant(session, _actor(), principal, target, permission, group=group, days=days, reason=reason)
    emit_json(result) if as_json else typer.echo(
        f"grant {result['id']}: {result['principal_kind']} {result['principal']} may {result['permission']} "
        f"{result['target']}" + (f" until {result['expires_at']}" if result["expires_at"] else " (no expiry)"))


@grant_app.command("list")
@handles_errors
def grant_list(principal: Annotated[str | None, typer.Option(help="Only this user or group.")] = None,
               target: Annotated[str | None, typer.Option(help="Only this dataset or prefix.")] = None,
               all_states: Annotated[bool, typer.Option("--all", help="Include revoked and expired.")] = False,
               as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import list_grants

    with session_scope(_settings()) as session:
        grants = list_grants(session, _actor(), principal, target, all_states)
    if as_json:
        emit_json({"grants": grants})
        return
    for g in grants:
        typer.echo(f"{g['id']}  {g['principal_kind']}:{g['principal']}  {g['permission']}  {g['target']}  "
                   f"{g['state']}  by {g['granted_by']}")


@grant_app.command("revoke")
@handles_errors
def grant_revoke(grant_id: int, as_json: JsonFlag = False) -> None:
    from catalog.db import session_scope
    from catalog.principals import revoke_grant

    with session_scope(_settings()) as session:
        result = revoke_grant(session, _actor(), grant_id)
    emit_json(result) if as_json else typer.echo(f"grant {result['id']} {result['state']}")


@audit_app.command("export")
@handles_errors
def audit_export(fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
                 since: Annotated[datetime | None, typer.Option(help="Only lines from this time on.")] = None,
                 who: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
                 action: Annotated[str | None, typer.Option(help="Only this action, e.g. version.fetch.")] = None,
                 ) -> None:
    """Print the audit log (oldest first) as CSV or JSON."""
    from catalog import audit
    from catalog.db import session_scope
    from catalog.errors import InvalidInput

    if fmt not in ("csv", "json"):
        raise InvalidInput("--format must be csv or json")
    with session_scope(_settings()) as session:
        rows = audit.events(session, _actor(), since=since, who=who, action=action, limit=audit.EXPORT_LIMIT)
    if fmt == "json":
        emit_json({"events": rows})
    else:
        sys.stdout.write(audit.as_csv(rows))
