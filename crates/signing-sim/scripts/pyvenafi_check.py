"""Drives the simulator with Venafi's own Python SDK, unchanged, as a fidelity check.

Usage: python pyvenafi_check.py HOST:PORT   (the simulator must serve HTTPS: pyVenafi forces it)
Exits non-zero on the first answer that differs from what a real TPP would give.
"""
import base64
import sys

from pyvenafi.tpp import Authenticate

DN = r"\VED\Code Signing\Projects\Sample\Production Environment"


def check(what, ok):
    print(f"{'ok ' if ok else 'FAIL'} {what}")
    if not ok:
        sys.exit(1)


def main(host):
    api = Authenticate(host=host, username="sample-approver", password="sample-approver-password",
                       application_id="codesign-gate", scope="codesign:approve")
    check("version parsed", str(api._tpp_version).startswith("24.1"))
    codesign = api.websdk.Codesign
    r = codesign.AddPreApproval.post(dn=DN, comment="pyvenafi", user="local:sample-cs-user", hours=1,
                                     ip_address="127.0.0.1", single_use=True,
                                     not_before="2021-12-31T00:52:50.5387438")
    check("AddPreApproval succeeds", r.success is True)
    r = api.websdk.Flow.Actions.CodeSign.PreQualify.Create.post(
        dn=DN, data=base64.b64encode(b"\x01" * 32).decode(), user="local:sample-cs-user", comment="pyvenafi",
        hours=1, single_use=True)
    check("PreQualify/Create succeeds", r.success is True)
    r = codesign.AddPreApproval.post(dn=r"\VED\Nope", comment="pyvenafi", user="local:sample-cs-user")
    check("unknown DN is refused with Success false", r.success is False)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
