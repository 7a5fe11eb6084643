"""Venafi's own Python SDK, pyVenafi, unchanged, against the simulator's TPP side.

The SDK is the judge: it was written against real TPP servers by people who never saw the
simulator, so every call here that fails points at a difference between the simulator and TPP.
After each SDK call the simulator's state (GET /__sim/state) must hold exactly what the SDK sent,
and its request log exactly the calls the SDK made (URL casing, retries, refreshes).

Usage (run.sh does this):
  python test_pyvenafi.py --main HOST:PORT --main-ca CA.pem --short HOST:PORT --short-ca CA.pem
`--main` serves tests/interop/sim.toml; `--short` the same with a token lifetime of a few seconds.
Prints one line per check and then `N passed, M failed`; exits 1 if any check failed.
"""

import argparse
import base64
import datetime
import hashlib
import json
import socket
import ssl
import sys
import time
import traceback

import requests
from packaging.version import Version
from pyvenafi.tpp import Authenticate
from pyvenafi.tpp.api.api_base import InvalidResponseError

DN = r"\VED\Code Signing\Projects\Sample\Production Environment"
UNKNOWN_DN = r"\VED\Code Signing\Projects\Sample\No Such Environment"
CLIENT_ID = "codesign-gate"
SCOPE = "codesign:approve"
APPROVER = ("sample-approver", "sample-approver-password")
NOT_APPROVER = ("sample-user", "sample-user-password")
KEY_USER = "local:sample-cs-user"
KEY_USER_UNIVERSAL = "local:{5b0a5b1e-7c1d-4e2a-9f3b-2d6c8e4f1a07}"
SIGNTOOL = r"C:\Program Files (x86)\Windows Kits\10\bin\10.0.22621.0\x64\signtool.exe"
VERSION = "24.1.0.2358"

PREQUALIFY = "/vedsdk/Flow/Actions/CodeSign/PreQualify/Create"
PREAPPROVE = "/vedsdk/Codesign/AddPreApproval"
GET_ENV = "/vedsdk/Codesign/GetEnvironment"
OAUTH = "/vedauth/Authorize/OAuth"
REFRESH = "/vedauth/Authorize/Token"
VERSION_PATH = "/vedsdk/SystemStatus/Version"


def digest(label, algorithm="sha256"):
    return base64.b64encode(hashlib.new(algorithm, label.encode()).digest()).decode()


class Sim:
    """One running simulator: its address for the SDK and its state for the checks."""

    def __init__(self, host, ca):
        self.host = host
        self.ca = ca
        self.base = f"https://{host}"

    def state(self):
        r = requests.get(f"{self.base}/__sim/state", verify=self.ca, timeout=10)
        r.raise_for_status()
        return r.json()

    def login(self, user=APPROVER, scope=SCOPE):
        return Authenticate(host=self.host, username=user[0], password=user[1], application_id=CLIENT_ID,
                            scope=scope, verify_ssl=self.ca)


def sdk_requests(state):
    return [(r["method"], r["path"], r["status"]) for r in state["requests"] if r["path"] != "/__sim/state"]


CHAIN_FIELDS = ("created_ms", "used_by")


class Delta:
    """What changed in the simulator while the body of a `with` ran."""

    def __init__(self, sim):
        self.sim = sim

    def __enter__(self):
        self.before = self.sim.state()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            after = self.sim.state()
            for key in ("tpp_tokens", "prequalifications", "preapprovals"):
                old = self.before[key]
                assert after[key][:len(old)] == old or key == "tpp_tokens", f"{key} changed in place"
                # When a record was made and which signings used it are the simulator's own
                # bookkeeping of the approval chain, not what the SDK sent.
                added = [{k: v for k, v in r.items() if k not in CHAIN_FIELDS} for r in after[key][len(old):]]
                setattr(self, key, added)
            self.tokens_now = after["tpp_tokens"]
            self.requests = sdk_requests(after)[len(sdk_requests(self.before)):]
        return False


def sent_body(output):
    """The JSON body pyVenafi put on the wire for the call that produced `output`."""
    return json.loads(output.api_response.request.body)


def expect_equal(what, got, want):
    assert got == want, f"{what}:\n  got  {got!r}\n  want {want!r}"


def expect_documented_success(output):
    # The vendor's example answer to AddPreApproval is exactly {"Success": true}: no Result, no
    # Error. pyVenafi reads it as success with neither.
    expect_equal("answer", output.api_response.json(), {"Success": True})
    expect_equal("Success", output.success, True)
    expect_equal("Result", output.result, None)
    expect_equal("Error", output.error, None)


def expect_refused(output, code):
    expect_equal("Success", output.success, False)
    expect_equal("Result", output.result.code, code)
    assert output.error, "a refusal carries an Error text"


def expect_http_error(call, status, error):
    try:
        call()
    except InvalidResponseError as e:
        expect_equal("HTTP status", e.response.status_code, status)
        expect_equal("error", e.response.json().get("error"), error)
        return e
    raise AssertionError(f"expected pyVenafi to raise InvalidResponseError for HTTP {status}")


def wait_until_expired(sim, count, timeout=20.0):
    """Polls the state until `count` tokens exist and all of them have expired."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tokens = sim.state()["tpp_tokens"]
        if len(tokens) == count and all(t["expired"] for t in tokens):
            return
        time.sleep(0.1)
    raise AssertionError(f"tokens did not expire within {timeout}s")


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


# ---- the checks, in order; they share one approver session on the main simulator -------------

@check
def tls_certificate_passes_strict_x509_verification(ctx):
    # Python 3.13 turns VERIFY_X509_STRICT on by default, and urllib3 2 (so requests, so pyVenafi)
    # does the same there. A leaf without an Authority Key Identifier fails it.
    context = ssl.create_default_context(cafile=ctx.main.ca)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    host, port = ctx.main.host.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3"), tls.version()


@check
def authenticate_with_the_oauth_password_grant(ctx):
    with Delta(ctx.main) as d:
        ctx.api = ctx.main.login()
    # The SDK logs in first, then asks the version (once per process; it caches it).
    expect_equal("requests", d.requests, [("POST", OAUTH, 200), ("GET", VERSION_PATH, 200)])
    expect_equal("tokens", [(t["username"], t["client_id"], t["scope"], t["issued_via"], t["revoked"], t["expired"])
                            for t in d.tpp_tokens], [(APPROVER[0], CLIENT_ID, SCOPE, "oauth", False, False)])
    expect_equal("version", ctx.api._tpp_version, Version(VERSION))
    headers = ctx.api.websdk._session.request_kwargs["headers"]
    # pyVenafi sends `Authorization: Bearer` only for a token ending in "==" (as TPP's do).
    assert headers.get("Authorization", "").startswith("Bearer "), headers.keys()
    assert "X-Venafi-API-Key" not in headers, "token sent as the legacy API key"


@check
def system_status_version(ctx):
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.SystemStatus.Version.get()
    expect_equal("Version", out.version, VERSION)
    expect_equal("requests", d.requests, [("GET", VERSION_PATH, 200)])


@check
def verify_token(ctx):
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Authorize.Verify.get()
    expect_equal("requests", d.requests, [("GET", "/vedauth/Authorize/Verify", 200)])
    expect_equal("application", out.application, CLIENT_ID)
    expect_equal("scope", out.scope, SCOPE)
    assert str(out.identity).startswith("local:{"), out.identity
    assert 3000 < int(out.valid_for) <= 3600, out.valid_for
    # pyVenafi types it as a datetime but keeps what TPP sends: unix seconds.
    assert abs(int(out.expires_unix_time) - time.time() - int(out.valid_for)) <= 5, out.expires_unix_time


@check
def get_environment_by_dn(ctx):
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Codesign.GetEnvironment.post(dn=DN)
    expect_equal("sent", sent_body(out), {"Dn": DN})
    expect_equal("requests", d.requests, [("POST", GET_ENV, 200)])
    expect_equal("Success", out.success, True)
    expect_equal("Result", out.result.code, 1)
    env = out.certificate_environment
    expect_equal("Dn", env.dn, DN)
    assert str(env.guid).startswith("{") and isinstance(env.id, int), (env.guid, env.id)
    ctx.env_guid, ctx.env_id = env.guid, env.id


@check
def get_environment_by_guid_or_id(ctx):
    for kwargs, sent in ((dict(guid=ctx.env_guid), {"Guid": ctx.env_guid}), (dict(id=ctx.env_id), {"Id": ctx.env_id})):
        out = ctx.api.websdk.Codesign.GetEnvironment.post(**kwargs)
        expect_equal("sent", sent_body(out), sent)
        expect_equal(f"Success for {sent}", out.success, True)
        expect_equal(f"Dn for {sent}", out.certificate_environment.dn, DN)


@check
def get_environment_unknown_dn_is_result_7(ctx):
    out = ctx.api.websdk.Codesign.GetEnvironment.post(dn=UNKNOWN_DN)
    expect_refused(out, 7)
    expect_equal("result name", out.result.codesign_result.split("\t")[0], "ObjectNotFound")


@check
def prequalify_required_fields_only(ctx):
    data = digest("minimal")
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
            dn=DN, data=data, user=KEY_USER, comment="interop: required fields")
    expect_equal("sent", sent_body(out), {"Dn": DN, "Data": data, "User": KEY_USER,
                                          "Comment": "interop: required fields"})
    expect_documented_success(out)
    expect_equal("requests", d.requests, [("POST", PREQUALIFY, 200)])
    expect_equal("stored", d.prequalifications, [{
        "dn": DN, "data": data, "user": KEY_USER, "comment": "interop: required fields",
        "hours": None, "single_use": None, "created_by": APPROVER[0]}])


@check
def prequalify_with_hours_and_single_use(ctx):
    cases = [
        (digest("full"), KEY_USER, 2, True),
        (digest("sha384", "sha384"), KEY_USER_UNIVERSAL, 1, False),   # False is sent, not dropped
        (digest("sha512", "sha512"), KEY_USER, 8760, None),
    ]
    for data, user, hours, single_use in cases:
        with Delta(ctx.main) as d:
            out = ctx.api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
                dn=DN, data=data, user=user, comment="interop: optional fields", hours=hours, single_use=single_use)
        want = {"Dn": DN, "Data": data, "User": user, "Comment": "interop: optional fields", "Hours": hours}
        if single_use is not None:
            want["SingleUse"] = single_use
        expect_equal("sent", sent_body(out), want)
        expect_equal("Success", out.success, True)
        expect_equal("stored", d.prequalifications, [{
            "dn": DN, "data": data, "user": user, "comment": "interop: optional fields",
            "hours": hours, "single_use": single_use, "created_by": APPROVER[0]}])


def preapproval_record(**fields):
    record = {"dn": DN, "user": KEY_USER, "comment": "", "hours": None, "ip_address": None, "not_before": None,
              "signing_executable": None, "single_use": None, "created_by": APPROVER[0]}
    record.update(fields)
    return record


@check
def preapproval_required_fields_only(ctx):
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop: required fields", user=KEY_USER)
    expect_equal("sent", sent_body(out), {"Dn": DN, "Comment": "interop: required fields", "User": KEY_USER})
    expect_documented_success(out)
    expect_equal("requests", d.requests, [("POST", PREAPPROVE, 200)])
    expect_equal("stored", d.preapprovals, [preapproval_record(comment="interop: required fields")])


@check
def preapproval_with_every_optional_field(ctx):
    fields = dict(hours=3, ip_address="192.0.2.10", signing_executable=SIGNTOOL, single_use=True,
                  not_before="2021-12-31T00:52:50.5387438")
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop: every field", user=KEY_USER,
                                                          **fields)
    expect_equal("sent", sent_body(out), {
        "Dn": DN, "Comment": "interop: every field", "User": KEY_USER, "Hours": 3, "IPAddress": "192.0.2.10",
        "SigningExecutable": SIGNTOOL, "SingleUse": True, "NotBefore": "2021-12-31T00:52:50.5387438"})
    expect_equal("Success", out.success, True)
    expect_equal("stored", d.preapprovals, [preapproval_record(comment="interop: every field", **fields)])


@check
def preapproval_vendor_example(ctx):
    # The request of the AddPreApproval document's example ("Expedite Flow approval"), as pyVenafi
    # sends it: no Hours, a SigningExecutable with spaces, an IPAddress, SingleUse true.
    example_dn = r"\VED\Code Signing\Projects\Sample\Development Environment"
    executable = r"c:\Program Files (x86)\Windows Kits\10\bin\10.0.17763.0\x64 signtool.exe"
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Codesign.AddPreApproval.post(
            dn=example_dn, user="local:sample-cs-user", single_use=True, signing_executable=executable,
            ip_address="9.5.45.11", comment="Override this Flow and approve signing for Product A.")
    expect_equal("sent", sent_body(out), {
        "Dn": example_dn, "User": "local:sample-cs-user", "SingleUse": True, "SigningExecutable": executable,
        "IPAddress": "9.5.45.11", "Comment": "Override this Flow and approve signing for Product A."})
    expect_documented_success(out)
    expect_equal("stored", d.preapprovals, [preapproval_record(
        dn=example_dn, comment="Override this Flow and approve signing for Product A.", ip_address="9.5.45.11",
        signing_executable=executable, single_use=True)])


@check
def preapproval_some_optional_fields(ctx):
    for fields in (dict(ip_address="::1"), dict(single_use=False, hours=1),
                   dict(signing_executable="/usr/bin/osslsigncode")):
        with Delta(ctx.main) as d:
            out = ctx.api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop: some", user=KEY_USER, **fields)
        expect_equal(f"Success for {fields}", out.success, True)
        expect_equal("stored", d.preapprovals, [preapproval_record(comment="interop: some", **fields)])


@check
def preapproval_not_before_as_python_datetime(ctx):
    # pyVenafi turns a datetime into `isoformat()`: naive -> no zone, aware UTC -> "+00:00".
    naive = datetime.datetime(2030, 1, 2, 3, 4, 5, 123456)
    aware = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    for value, wire in ((naive, "2030-01-02T03:04:05.123456"), (aware, "2030-01-02T03:04:05+00:00")):
        with Delta(ctx.main) as d:
            out = ctx.api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop: datetime", user=KEY_USER,
                                                              not_before=value)
        expect_equal("sent NotBefore", sent_body(out).get("NotBefore"), wire)
        expect_equal(f"Success for {wire}", out.success, True)
        expect_equal("stored", d.preapprovals, [preapproval_record(comment="interop: datetime", not_before=wire)])


@check
def unknown_dn_is_result_7_and_stores_nothing(ctx):
    with Delta(ctx.main) as d:
        pq = ctx.api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
            dn=UNKNOWN_DN, data=digest("unknown"), user=KEY_USER, comment="interop")
        pa = ctx.api.websdk.Codesign.AddPreApproval.post(dn=UNKNOWN_DN, comment="interop", user=KEY_USER, hours=1)
    expect_refused(pq, 7)
    expect_refused(pa, 7)
    assert "No Such Environment" in pa.error, pa.error
    expect_equal("requests", d.requests, [("POST", PREQUALIFY, 200), ("POST", PREAPPROVE, 200)])
    expect_equal("new records", (d.prequalifications, d.preapprovals), ([], []))


@check
def unknown_key_user_is_result_1002(ctx):
    with Delta(ctx.main) as d:
        out = ctx.api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop", user="local:nobody")
    expect_refused(out, 1002)
    expect_equal("new records", d.preapprovals, [])


@check
def caller_who_is_not_an_approver_is_result_2(ctx):
    with Delta(ctx.main) as d:
        api = ctx.main.login(user=NOT_APPROVER)
        pq = api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
            dn=DN, data=digest("not approver"), user=KEY_USER, comment="interop")
        pa = api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop", user=KEY_USER)
    expect_refused(pq, 2)
    expect_refused(pa, 2)
    expect_equal("new records", (d.prequalifications, d.preapprovals), ([], []))
    expect_equal("token", [(t["username"], t["issued_via"]) for t in d.tpp_tokens], [(NOT_APPROVER[0], "oauth")])


@check
def scope_without_approve_is_403_and_not_retried(ctx):
    # 403, unlike 401, must not make the SDK refresh and retry.
    with Delta(ctx.main) as d:
        api = ctx.main.login(scope="codesign")
        expect_http_error(lambda: api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop", user=KEY_USER),
                          403, "insufficient_scope")
    expect_equal("requests", [r for r in d.requests if r[1] != VERSION_PATH],
                 [("POST", OAUTH, 200), ("POST", PREAPPROVE, 403)])
    expect_equal("new records", d.preapprovals, [])


@check
def malformed_requests_are_400_and_store_nothing(ctx):
    pq = ctx.api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post
    pa = ctx.api.websdk.Codesign.AddPreApproval.post
    with Delta(ctx.main) as d:
        expect_http_error(lambda: pq(dn=DN, data="not base64!", user=KEY_USER, comment="x"), 400, "invalid_request")
        expect_http_error(lambda: pq(dn=DN, data=digest("h"), user=KEY_USER, comment="x", hours=0),
                          400, "invalid_request")
        expect_http_error(lambda: pa(dn=DN, comment="x", user=KEY_USER, ip_address="runner.example"),
                          400, "invalid_request")
        expect_http_error(lambda: pa(dn=DN, comment="x", user=KEY_USER, not_before="31/12/2021"),
                          400, "invalid_request")
    expect_equal("statuses", [r[2] for r in d.requests], [400, 400, 400, 400])
    expect_equal("new records", (d.prequalifications, d.preapprovals), ([], []))


@check
def wrong_password_is_refused(ctx):
    with Delta(ctx.main) as d:
        expect_http_error(lambda: ctx.main.login(user=(APPROVER[0], "wrong")), 400, "invalid_grant")
    expect_equal("requests", d.requests, [("POST", OAUTH, 400)])
    expect_equal("new tokens", d.tpp_tokens, [])


@check
def revoke_ends_the_grant_and_its_refresh_token(ctx):
    api = ctx.main.login()
    grant = ctx.main.state()["tpp_tokens"][-1]["grant"]
    with Delta(ctx.main) as d:
        out = api.websdk.Revoke.Token.get()
    assert out.is_valid_response()
    expect_equal("requests", d.requests, [("GET", "/vedauth/Revoke/Token", 200)])
    expect_equal("revoked", [t["revoked"] for t in d.tokens_now if t["grant"] == grant], [True])
    assert not any(t["revoked"] for t in d.tokens_now if t["grant"] != grant), "only that grant is revoked"
    # The SDK forgets the token, so the 401 that follows is not answered with a refresh...
    with Delta(ctx.main) as d:
        expect_http_error(lambda: api.websdk.Codesign.GetEnvironment.post(dn=DN), 401, "invalid_token")
    expect_equal("requests", d.requests, [("POST", GET_ENV, 401)])
    # ...and an explicit re-authentication finds the refresh token revoked with the grant.
    expect_http_error(api.re_authenticate, 400, "invalid_grant")
    # The main session is untouched.
    expect_equal("main session", ctx.api.websdk.Codesign.GetEnvironment.post(dn=DN).success, True)


# ---- the short-lived-token simulator ----------------------------------------------------------

@check
def expired_token_is_refreshed_and_the_call_retried(ctx):
    ctx.short_api = ctx.short.login()
    wait_until_expired(ctx.short, 1)
    data = digest("after expiry")
    with Delta(ctx.short) as d:
        out = ctx.short_api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
            dn=DN, data=data, user=KEY_USER, comment="interop: refreshed")
    expect_equal("Success", out.success, True)
    # 401 invalid_token -> POST /vedauth/Authorize/Token with the refresh token -> the same call again.
    expect_equal("requests", d.requests, [("POST", PREQUALIFY, 401), ("POST", REFRESH, 200), ("POST", PREQUALIFY, 200)])
    expect_equal("stored once", len(d.prequalifications), 1)
    expect_equal("stored", d.prequalifications[0]["data"], data)
    expect_equal("tokens", [(t["issued_via"], t["grant"], t["expired"]) for t in d.tokens_now],
                 [("oauth", 1, True), ("refresh", 1, False)])


@check
def rotated_refresh_token_is_used_for_the_next_refresh(ctx):
    # The first refresh token is spent (refresh tokens rotate); the SDK must use the new one.
    wait_until_expired(ctx.short, 2)
    with Delta(ctx.short) as d:
        out = ctx.short_api.websdk.Codesign.AddPreApproval.post(dn=DN, comment="interop: refreshed twice",
                                                                user=KEY_USER, hours=1)
    expect_equal("Success", out.success, True)
    expect_equal("requests", d.requests, [("POST", PREAPPROVE, 401), ("POST", REFRESH, 200), ("POST", PREAPPROVE, 200)])
    expect_equal("stored", d.preapprovals, [preapproval_record(comment="interop: refreshed twice", hours=1)])
    expect_equal("tokens", [(t["issued_via"], t["grant"]) for t in d.tokens_now],
                 [("oauth", 1), ("refresh", 1), ("refresh", 1)])
    verify = ctx.short_api.websdk.Authorize.Verify.get()
    expect_equal("same grant", verify.grant_issued_on_unix_time < verify.access_issued_on_unix_time, True)


class Context:
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--main", required=True)
    parser.add_argument("--main-ca", required=True)
    parser.add_argument("--short", required=True)
    parser.add_argument("--short-ca", required=True)
    args = parser.parse_args()
    ctx = Context()
    ctx.main = Sim(args.main, args.main_ca)
    ctx.short = Sim(args.short, args.short_ca)
    passed = failed = 0
    for fn in CHECKS:
        started = time.monotonic()
        try:
            fn(ctx)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            print("     " + traceback.format_exc().rstrip().replace("\n", "\n     "))
        else:
            passed += 1
            print(f"ok   {fn.__name__} ({time.monotonic() - started:.2f}s)")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
