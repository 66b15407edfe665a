"""A small scripted ILS behind pysip2's AnyIO SIP2 server (pysip2 from PyPI:
an ACS implementation no one here wrote). Run by tests/sip2_ils.rs and
benches/sip2.rs; not a library.

  ils_server.py --state S.json --log L.jsonl [--port 0] [--encoding cp850]
                [--login user:password] [--no-offline] [--memory]
                [--tls-cert server.pem --tls-key server.key]

Prints "PORT <n>" once it listens. The library (patrons, items, loans,
holds) is read from S.json at start and written back after every change,
so a test can stop the server ("ILS down") and start it again with the
same library (not with --memory, which the benchmark uses so that the
server's file writes do not drown the clients' figures). Every request received is appended to L.jsonl as one JSON
object: {"code": "11", <field name>: <value>, ...} with pysip2's field
names (no_block, transaction_date, nb_due_date, patron_identifier, ...).

Faults, for the client's error handling, are listed in S.json under
"faults": {"garble": ["12"], "drop": ["10"]} — the next response with that
code is sent once with a broken checksum ("garble"; a 97 gets the good
one), cut in the middle with the connection closed ("drop"; the
request has been applied), one second late ("slow") or three seconds
late ("hang", past a client's 1 s timeout). Each listed fault fires once.

With --tls-cert/--tls-key the same server listens behind TLS (Python's
ssl module; the test makes a throwaway CA with tests/sip2/make_certs.py).

State layout:
  {"patrons": {"P1": {"name": "Ada", "pin": "1234", "fines": "2.50",
                      "fine_items": ["I9 overdue 2.50"]}},
   "items": {"I1": {"title": "Les Misérables", "hold_for": null, "queue": 0}},
   "loans": {"I1": {"patron": "P1", "due": "20260315    235900"}},
   "holds": {"P1": ["I3"]},          # waiting holds placed with 15
   "payments": [{"patron": "P1", "amount": "2.50", ...}],
   "faults": {}}
A patron's "pin" is checked when a 23/63 carries AD (CQ Y/N); a hold
shelf item ("hold_for") is listed as the reader's available hold (AS).
"""

import argparse
import datetime as dt
import json
import os
import sys

import anyio
import pysip2
from pysip2 import routes
from pysip2.models import RequestACSResend, spec_for_type
from pysip2.server import SIP2Server

BLANK = " " * 18


def now18() -> str:
    n = dt.datetime.now()
    return n.strftime("%Y%m%d") + "    " + n.strftime("%H%M%S")


def in_days(days: int) -> str:
    d = dt.date.today() + dt.timedelta(days=days)
    return d.strftime("%Y%m%d") + "    235900"


class Library:
    def __init__(self, state_path: str, log_path: str, memory_only: bool = False) -> None:
        self.state_path = state_path
        self.memory_only = memory_only
        with open(state_path, encoding="utf-8") as f:
            self.s = json.load(f)
        for k in ("patrons", "items", "loans", "faults", "holds"):
            self.s.setdefault(k, {})
        self.s.setdefault("payments", [])
        self.log = open(log_path, "a", encoding="utf-8")

    def save(self) -> None:
        if self.memory_only:
            return
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.s, f, ensure_ascii=False)
        os.replace(tmp, self.state_path)

    def record(self, msg) -> None:
        spec = spec_for_type(type(msg))
        row = {"code": spec.command_id}
        for f in spec.fields:
            v = getattr(msg, f.name)
            row[f.name] = list(v) if isinstance(v, tuple) else v
        self.log.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.log.flush()

    def take_fault(self, kind: str, code: str) -> bool:
        pending = self.s["faults"].get(kind, [])
        if code in pending:
            pending.remove(code)
            self.save()
            return True
        return False


class ScriptedServer(SIP2Server):
    """pysip2's server with two faults on the way out."""

    lib: Library

    async def _send(self, stream, state, frame: bytes) -> None:
        code = frame[:2].decode("ascii", "replace")
        if self.lib.take_fault("garble", code):
            bad = bytearray(frame)
            # A date digit changes: the checksum no longer matches.
            bad[8] = ord("0") if bad[8] != ord("0") else ord("1")
            await stream.send(bytes(bad))
            state.last_response = frame  # a 97 gets the good one
            return
        if self.lib.take_fault("slow", code):
            await anyio.sleep(1.0)
        if self.lib.take_fault("hang", code):
            await anyio.sleep(3.0)
        if self.lib.take_fault("drop", code):
            await stream.send(frame[: len(frame) // 2])
            await stream.aclose()
            raise anyio.ClosedResourceError
        await super()._send(stream, state, frame)

    async def _dispatch(self, stream, state, decoded) -> None:
        if isinstance(decoded.message, RequestACSResend):
            self.lib.log.write(json.dumps({"code": "97"}) + "\n")
            self.lib.log.flush()
        await super()._dispatch(stream, state, decoded)


def build(lib: Library, encoding: str, login: str | None, offline_ok: bool) -> ScriptedServer:
    app = ScriptedServer(
        encoding=encoding,
        offline_ok=offline_ok,
        institution_id="MAIN",
        library_name="Test Library",
        login_required=login is not None,
    )
    app.lib = lib
    S = lib.s

    @app.route(routes.LOGIN)
    async def do_login(req, ctx):
        lib.record(req)
        user, _, pw = (login or ":").partition(":")
        ok = req.login_user_id == user and req.login_password == pw
        return pysip2.LoginResponse(ok="1" if ok else "0")

    @app.route(routes.SC_STATUS)
    async def sc_status(req, ctx):
        lib.record(req)
        return app.build_acs_status(req)

    def carried(text: str) -> str:
        # As an ILS whose charset cannot carry a text sends it: each
        # character it cannot encode becomes "?" (cp850 and 三体: "??").
        return text.encode(encoding, "replace").decode(encoding)

    def title(item: str) -> str:
        return carried(S["items"].get(item, {}).get("title", ""))

    @app.route(routes.CHECKOUT)
    async def checkout(req, ctx):
        lib.record(req)
        p, i = req.patron_identifier, req.item_identifier

        def no(msg: str):
            return pysip2.CheckoutResponse(
                ok="0", renewal_ok="N", magnetic_media="N", desensitize="N",
                transaction_date=now18(), institution_id="MAIN", patron_identifier=p,
                item_identifier=i, title_identifier=title(i), due_date="",
                screen_message=(msg,))

        if p not in S["patrons"]:
            return no("Unknown patron")
        item = S["items"].get(i)
        if item is None:
            return no("Unknown item")
        if item.get("hold_for") not in (None, p):
            return no("Item on hold for another patron")
        loan = S["loans"].get(i)
        if loan is not None:
            return no("Item already checked out" + (" to you" if loan["patron"] == p else ""))
        if req.no_block == "Y" and req.nb_due_date.strip():
            due = req.nb_due_date
        else:
            due = in_days(14)
        S["loans"][i] = {"patron": p, "due": due}
        if item.get("hold_for") == p:
            item["hold_for"] = None
        lib.save()
        return pysip2.CheckoutResponse(
            ok="1", renewal_ok="N", magnetic_media="N", desensitize="Y",
            transaction_date=now18(), institution_id="MAIN", patron_identifier=p,
            item_identifier=i, title_identifier=title(i), due_date=due, media_type="001",
            screen_message=("Enjoy",))

    @app.route(routes.CHECKIN)
    async def checkin(req, ctx):
        lib.record(req)
        i = req.item_identifier
        item = S["items"].get(i)
        loan = S["loans"].pop(i, None)
        if item is None or loan is None:
            return pysip2.CheckinResponse(
                ok="0", resensitize="N", magnetic_media="N", alert="N",
                transaction_date=now18(), institution_id="MAIN", item_identifier=i,
                permanent_location="MAIN-ADULT", title_identifier=title(i),
                screen_message=("Item not checked out" if item else "Unknown item",))
        lib.save()
        held = item.get("hold_for")
        return pysip2.CheckinResponse(
            ok="1", resensitize="Y", magnetic_media="N", alert="Y" if held else "N",
            transaction_date=now18(), institution_id="MAIN", item_identifier=i,
            permanent_location="MAIN-ADULT", title_identifier=title(i),
            sort_bin="HOLD" if held else "A1",
            screen_message=("Hold for another reader: hold shelf",) if held else ())

    @app.route(routes.RENEW)
    async def renew(req, ctx):
        lib.record(req)
        p, i = req.patron_identifier, req.item_identifier or ""
        loan = S["loans"].get(i)
        item = S["items"].get(i, {})
        ok = renewable(p, i)
        if ok:
            loan["due"] = in_days(28)
            lib.save()
        return pysip2.RenewResponse(
            ok="1" if ok else "0", renewal_ok="Y" if ok else "N", magnetic_media="N",
            desensitize="N", transaction_date=now18(), institution_id="MAIN",
            patron_identifier=p, item_identifier=i, title_identifier=title(i),
            due_date=loan["due"] if ok else "",
            screen_message=() if ok else ("Renewal refused",))

    @app.route(routes.ITEM_INFORMATION)
    async def item_info(req, ctx):
        lib.record(req)
        i = req.item_identifier
        item = S["items"].get(i)
        loan = S["loans"].get(i)
        if item is None:
            status = "01"
        elif loan is not None:
            status = "04"
        elif item.get("hold_for"):
            status = "08"
        else:
            status = "03"
        return pysip2.ItemInformationResponse(
            circulation_status=status, security_marker="00", fee_type="01",
            transaction_date=now18(),
            hold_queue_length=str((item or {}).get("queue", 0) + (1 if (item or {}).get("hold_for") else 0)),
            due_date=loan["due"] if loan else None, item_identifier=i,
            title_identifier=title(i))

    def patron_status(p: str) -> str:
        return " " * 14

    def pin_ok(p: str, pw) -> str | None:
        """CQ: only when a password came (AD) and the patron is known."""
        if pw is None or p not in S["patrons"]:
            return None
        return "Y" if S["patrons"][p].get("pin", "") == pw else "N"

    def fines(p: str) -> str:
        return S["patrons"].get(p, {}).get("fines", "0.00")

    @app.route(routes.PATRON_INFORMATION)
    async def patron_info(req, ctx):
        lib.record(req)
        p = req.patron_identifier
        known = p in S["patrons"]
        charged = sorted(i for i, l in S["loans"].items() if l["patron"] == p)
        ready = sorted(i for i, it in S["items"].items()
                       if it.get("hold_for") == p and i not in S["loans"])
        waiting = list(S["holds"].get(p, []))
        fine_items = list(S["patrons"].get(p, {}).get("fine_items", []))
        want = lambda n: req.summary[n] == "Y"  # noqa: E731
        return pysip2.PatronInformationResponse(
            patron_status=patron_status(p), language="000", transaction_date=now18(),
            hold_items_count=f"{len(ready):04d}", overdue_items_count="0000",
            charged_items_count=f"{len(charged):04d}",
            fine_items_count=f"{len(fine_items):04d}",
            recall_items_count="0000", unavailable_holds_count=f"{len(waiting):04d}",
            institution_id="MAIN", patron_identifier=p,
            personal_name=carried(S["patrons"].get(p, {}).get("name", "")),
            valid_patron="Y" if known else "N",
            valid_patron_password=pin_ok(p, req.patron_password),
            currency_type="CNY", fee_amount=fines(p),
            hold_items=tuple(ready) if want(0) else (),
            charged_items=tuple(charged) if want(2) else (),
            fine_items=tuple(fine_items) if want(3) else (),
            unavailable_hold_items=tuple(waiting) if want(5) else ())

    @app.route(routes.PATRON_STATUS)
    async def patron_status_req(req, ctx):
        lib.record(req)
        p = req.patron_identifier
        return pysip2.PatronStatusResponse(
            patron_status=patron_status(p), language="000", transaction_date=now18(),
            institution_id="MAIN", patron_identifier=p,
            personal_name=carried(S["patrons"].get(p, {}).get("name", "")),
            valid_patron="Y" if p in S["patrons"] else "N",
            valid_patron_password=pin_ok(p, req.patron_password or None),
            currency_type="CNY", fee_amount=fines(p))

    def renewable(p: str, i: str) -> bool:
        loan = S["loans"].get(i)
        item = S["items"].get(i, {})
        return loan is not None and loan["patron"] == p and not item.get("hold_for") \
            and not item.get("queue")

    @app.route(routes.RENEW_ALL)
    async def renew_all(req, ctx):
        lib.record(req)
        p = req.patron_identifier
        mine = sorted(i for i, l in S["loans"].items() if l["patron"] == p)
        done = [i for i in mine if renewable(p, i)]
        refused = [i for i in mine if i not in done]
        for i in done:
            S["loans"][i]["due"] = in_days(28)
        lib.save()
        return pysip2.RenewAllResponse(
            ok="1" if p in S["patrons"] else "0",
            renewed_count=f"{len(done):04d}", unrenewed_count=f"{len(refused):04d}",
            transaction_date=now18(), institution_id="MAIN",
            renewed_items=tuple(done), unrenewed_items=tuple(refused),
            screen_message=(f"Renewed {len(done)} of {len(mine)}",))

    @app.route(routes.FEE_PAID)
    async def fee_paid(req, ctx):
        lib.record(req)
        p = req.patron_identifier
        if p not in S["patrons"]:
            return pysip2.FeePaidResponse(
                payment_accepted="N", transaction_date=now18(), institution_id="MAIN",
                patron_identifier=p, screen_message=("Unknown patron",))
        owed = round(float(fines(p)) - float(req.fee_amount), 2)
        S["patrons"][p]["fines"] = f"{max(owed, 0):.2f}"
        S["payments"].append({"patron": p, "amount": req.fee_amount,
                              "transaction_date": req.transaction_date,
                              "transaction_id": req.transaction_id})
        lib.save()
        return pysip2.FeePaidResponse(
            payment_accepted="Y", transaction_date=now18(), institution_id="MAIN",
            patron_identifier=p, transaction_id=f"ILS-{len(S['payments'])}",
            screen_message=("Payment received",))

    @app.route(routes.HOLD)
    async def hold(req, ctx):
        lib.record(req)
        i = req.item_identifier or ""
        p = req.patron_identifier
        item = S["items"].get(i)
        held = S["holds"].setdefault(p, [])
        ok = item is not None and (req.hold_mode == "+" or i in held)
        if ok:
            item["queue"] = max(0, item.get("queue", 0) + (1 if req.hold_mode == "+" else -1))
            if req.hold_mode == "+":
                held.append(i)
            else:
                held.remove(i)
            lib.save()
        return pysip2.HoldResponse(
            ok="1" if ok else "0", available="N", transaction_date=now18(),
            queue_position=str(item.get("queue", 0)) if ok else None,
            institution_id="MAIN", patron_identifier=req.patron_identifier,
            item_identifier=i, title_identifier=title(i))

    @app.route(routes.END_PATRON_SESSION)
    async def end_session(req, ctx):
        lib.record(req)
        return pysip2.EndSessionResponse(
            end_session="Y", transaction_date=now18(), institution_id="MAIN",
            patron_identifier=req.patron_identifier)

    return app


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--encoding", default="cp850")
    ap.add_argument("--login")
    ap.add_argument("--no-offline", action="store_true", help="98 says offline ok = N")
    ap.add_argument("--memory", action="store_true", help="never write the state back")
    ap.add_argument("--tls-cert", help="serve TLS with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    a = ap.parse_args()
    lib = Library(a.state, a.log, memory_only=a.memory)
    app = build(lib, a.encoding, a.login, not a.no_offline)
    if a.tls_cert:
        await serve_tls(app, a.port, a.tls_cert, a.tls_key)
        return
    async with app.start(host="127.0.0.1", port=a.port) as port:
        print(f"PORT {port}", flush=True)
        await anyio.sleep_forever()


async def serve_tls(app: ScriptedServer, port: int, cert: str, key: str) -> None:
    """pysip2's connection handler behind anyio's TLS listener: the same
    server, every connection wrapped in TLS (a failed handshake closes only
    that connection)."""
    import logging
    import ssl

    from anyio.abc import SocketAttribute
    from anyio.streams.tls import TLSListener

    # A client that refuses our certificate is a case the tests make on
    # purpose: not worth a traceback on stderr.
    logging.getLogger("anyio.streams.tls").setLevel(logging.CRITICAL)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    listener = await app.listen(host="127.0.0.1", port=port)
    bound = listener.extra(SocketAttribute.local_port)
    tls = TLSListener(listener, ctx, standard_compatible=False)
    print(f"PORT {bound}", flush=True)
    await tls.serve(app._handle_connection)


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(0)
