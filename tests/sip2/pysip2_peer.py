"""Peer check for the kiosk's SIP2 codec against pysip2 (an independent
SIP2 2.00 codec from PyPI). Run by tests/sip2_codec.rs; not a library.

  pysip2_peer.py reencode   stdin: "<charset> <hex>" per line (our bytes);
                            stdout: "ok <hex>" (pysip2 decoded the line and
                            encoded it again, same sequence number and
                            checksum use) or "err <reason>".
  pysip2_peer.py samples    stdout: one JSON object per message pysip2
                            encodes: name, charset, hex, and what it put on
                            the wire (fixed text, variable fields in order,
                            sequence number).
"""

import json
import sys

import pysip2
from pysip2.models import spec_for_type

DATE = "20260301    093005"
DUE = "20260315    235900"


def reencode() -> None:
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        charset, hexed = raw.split(" ", 1)
        frame = bytes.fromhex(hexed)
        try:
            d = pysip2.decode_message(frame, encoding=charset)
            again = pysip2.encode_message(
                d.message,
                sequence_number=d.sequence_number,
                checksum=d.checksum is not None,
                encoding=charset,
            )
            print("ok " + again.hex(), flush=True)
        except Exception as e:  # report, never stop: one line per input
            print(f"err {type(e).__name__}: {e}", flush=True)


def wire_view(msg):
    spec = spec_for_type(type(msg))
    fixed = ""
    fields = []
    for f in spec.fields:
        value = getattr(msg, f.name)
        if f.field_id is None:
            fixed += value
        elif f.repeatable:
            fields += [[f.field_id, v] for v in value]
        elif value is not None:
            fields.append([f.field_id, value])
    return spec.command_id, fixed, fields


def samples() -> None:
    m = pysip2
    cases = [
        ("login ok", "ascii", 0, m.LoginResponse(ok="1")),
        ("acs status", "cp850", 1, m.ACSStatusResponse(
            online_status="Y", checkin_ok="Y", checkout_ok="Y", acs_renewal_policy="Y",
            status_update_ok="N", offline_ok="Y", timeout_period="030", retries_allowed="003",
            date_time_sync=DATE, protocol_version="2.00", institution_id="MAIN",
            library_name="Bibliothèque centrale", supported_messages="YYYYYYYYYYYYYYYY",
            terminal_location="Hall", screen_message=("Bienvenue",))),
        ("patron information", "cp850", 2, m.PatronInformationResponse(
            patron_status="  Y           ", language="001", transaction_date=DATE,
            hold_items_count="0001", overdue_items_count="0000", charged_items_count="0002",
            fine_items_count="0000", recall_items_count="0000", unavailable_holds_count="0000",
            institution_id="MAIN", patron_identifier="21234000012", personal_name="Zoë Ørsted",
            valid_patron="Y", valid_patron_password="Y", currency_type="EUR", fee_amount="1.50",
            charged_items=("31234000099", "31234000100"), hold_items=("31234000200",),
            screen_message=("Two items", "One hold"))),
        ("checkout cp850", "cp850", 3, m.CheckoutResponse(
            ok="1", renewal_ok="N", magnetic_media="N", desensitize="Y",
            transaction_date=DATE, institution_id="MAIN", patron_identifier="21234000012",
            item_identifier="31234000099", title_identifier="Les Misérables", due_date=DUE,
            media_type="001", screen_message=("Bonne lecture",))),
        ("checkout utf-8", "utf-8", 4, m.CheckoutResponse(
            ok="1", renewal_ok="N", magnetic_media="U", desensitize="Y",
            transaction_date=DATE, institution_id="MAIN", patron_identifier="21234000012",
            item_identifier="31234000101", title_identifier="三体", due_date=DUE)),
        ("checkout refused", "cp850", 5, m.CheckoutResponse(
            ok="0", renewal_ok="N", magnetic_media="N", desensitize="N",
            transaction_date=DATE, institution_id="MAIN", patron_identifier="21234000012",
            item_identifier="31234000099", title_identifier="", due_date="",
            screen_message=("Item on hold for another patron",))),
        ("checkin", "cp850", 6, m.CheckinResponse(
            ok="1", resensitize="Y", magnetic_media="N", alert="Y", transaction_date=DATE,
            institution_id="MAIN", item_identifier="31234000099", permanent_location="MAIN-ADULT",
            title_identifier="The Title", sort_bin="3", screen_message=("Hold: route",))),
        ("renew", "cp850", 7, m.RenewResponse(
            ok="1", renewal_ok="Y", magnetic_media="N", desensitize="Y", transaction_date=DATE,
            institution_id="MAIN", patron_identifier="21234000012", item_identifier="31234000099",
            title_identifier="The Title", due_date="20260329    235900")),
        ("renew all", "cp850", 8, m.RenewAllResponse(
            ok="1", renewed_count="0001", unrenewed_count="0001", transaction_date=DATE,
            institution_id="MAIN", renewed_items=("31234000099",),
            unrenewed_items=("31234000100",))),
        ("item information", "cp850", 9, m.ItemInformationResponse(
            circulation_status="04", security_marker="00", fee_type="01", transaction_date=DATE,
            hold_queue_length="2", due_date=DUE, item_identifier="31234000099",
            title_identifier="The Title", owner="MAIN", permanent_location="MAIN-ADULT",
            current_location="MAIN")),
        ("hold", "cp850", 0, m.HoldResponse(
            ok="1", available="N", transaction_date=DATE, expiration_date="20260401    000000",
            queue_position="3", pickup_location="BRANCH2", institution_id="MAIN",
            patron_identifier="21234000012", title_identifier="The Title")),
        ("patron status", "cp850", 1, m.PatronStatusResponse(
            patron_status="Y             ", language="001", transaction_date=DATE,
            institution_id="MAIN", patron_identifier="21234000012", personal_name="Ada",
            valid_patron="Y", valid_patron_password="N")),
        ("end session", "cp850", 2, m.EndSessionResponse(
            end_session="Y", transaction_date=DATE, institution_id="MAIN",
            patron_identifier="21234000012")),
        ("fee paid", "cp850", 3, m.FeePaidResponse(
            payment_accepted="Y", transaction_date=DATE, institution_id="MAIN",
            patron_identifier="21234000012", transaction_id="tx-1")),
        ("resend", "cp850", None, m.RequestSCResend()),
        ("checkout request", "cp850", 4, m.CheckoutRequest(
            sc_renewal_policy="N", no_block="Y", transaction_date=DATE, nb_due_date=DUE,
            institution_id="MAIN", patron_identifier="21234000012",
            item_identifier="31234000099", terminal_password="tpw")),
    ]
    for name, charset, seq, msg in cases:
        frame = pysip2.encode_message(msg, sequence_number=seq, checksum=True, encoding=charset)
        code, fixed, fields = wire_view(msg)
        print(json.dumps({"name": name, "charset": charset, "hex": frame.hex(), "code": code,
                          "fixed": fixed, "fields": fields, "seq": seq}, ensure_ascii=False))
    # And one without error detection.
    frame = pysip2.encode_message(m.LoginResponse(ok="0"), checksum=False)
    print(json.dumps({"name": "login refused, no checksum", "charset": "cp850",
                      "hex": frame.hex(), "code": "94", "fixed": "0", "fields": [],
                      "seq": None}))


if __name__ == "__main__":
    {"reencode": reencode, "samples": samples}[sys.argv[1]]()
