"""Hypothesis strategies for planted secrets, shared by the redact and normalize tests."""

from __future__ import annotations

from hypothesis import strategies as st

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    # at least one digit and one letter, like real generated credentials
    return st.text(alphabet, min_size=n, max_size=n).map(lambda s: "7" + s[2:] + "Q")


_PASSWORD = _chars(_ALNUM + "!%^*+-_", 14)
# (secret value, how it appears in a command) pairs for every family redact knows.
SECRETS: st.SearchStrategy[tuple[str, str]] = st.one_of(
    _chars(_UPPER_NUM, 16).map(lambda s: ("AKIA" + s, "AKIA" + s)),
    _chars(_ALNUM + "/+", 40).map(lambda s: (s, f"AWS_SECRET_ACCESS_KEY={s}")),
    st.tuples(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), _chars(_ALNUM, 36)).map(
        lambda p: (p[0] + p[1], p[0] + p[1])
    ),
    _chars(_ALNUM + "_", 60).map(lambda s: ("github_pat_" + s, "github_pat_" + s)),
    _chars(_ALNUM, 20).map(lambda s: ("glpat-" + s, "glpat-" + s)),
    _chars(_ALNUM, 24).map(lambda s: ("xoxb-1234-5678-" + s, "xoxb-1234-5678-" + s)),
    _chars(_ALNUM, 24).map(lambda s: (s, f"https://hooks.slack.com/services/T01/B02/{s}")),
    _chars(_ALNUM, 24).map(lambda s: ("rk_live_" + s, "rk_live_" + s)),
    _chars(_ALNUM, 24).map(lambda s: ("sk_test_" + s, "sk_test_" + s)),
    _chars(_ALNUM, 24).map(lambda s: ("sk_live_" + s, "sk_live_" + s)),
    _chars(_ALNUM, 48).map(lambda s: ("sk-" + s, "sk-" + s)),
    _chars(_ALNUM + "_-", 40).map(lambda s: ("sk-proj-" + s, "sk-proj-" + s)),
    _chars(_ALNUM + "_-", 40).map(lambda s: ("sk-ant-api03-" + s, "sk-ant-api03-" + s)),
    _chars(_ALNUM + "_-", 35).map(lambda s: ("AIza" + s, "AIza" + s)),
    _chars(_ALNUM, 36).map(lambda s: ("npm_" + s, "npm_" + s)),
    _chars(_ALNUM, 40).map(lambda s: ("dp.st.prd." + s, "dp.st.prd." + s)),
    _chars(_ALNUM, 40).map(lambda s: ("dp.pt." + s, "dp.pt." + s)),
    _chars(_ALNUM, 40).map(lambda s: (s, f"SecretAccessKey: {s}")),
    _chars(_ALNUM + "_-", 30).map(
        lambda s: (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + s,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + s,
        )
    ),
    _chars(_ALNUM, 24).map(lambda s: (s, f'-H "Authorization: Bearer {s}"')),
    _chars(_ALNUM, 24).map(lambda s: (s, f"'Authorization: Basic {s}'")),
    _PASSWORD.map(lambda s: (s, f"postgres://app:{s}@db.internal:5432/app")),
    _PASSWORD.map(lambda s: (s, f"--password {s}")),
    _PASSWORD.map(lambda s: (s, f"--password={s}")),
    _PASSWORD.map(lambda s: (s, f"mysql -u root -p{s}")),
    _PASSWORD.map(lambda s: (s, f"PGPASSWORD={s}")),
    _PASSWORD.map(lambda s: (s, f"DB_PASSWORD='{s}'")),
    _PASSWORD.map(lambda s: (s, f"--set db.password={s}")),
    _PASSWORD.map(lambda s: (s, f'"client_secret": "{s}"')),
    _PASSWORD.map(lambda s: (s, f"api_key: {s}")),
    _chars(_ALNUM + "/+", 64).map(
        lambda s: (s, f"-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----")
    ),
)
