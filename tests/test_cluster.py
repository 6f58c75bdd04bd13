"""Grouping runs by procedure (runbook.cluster): the pure algorithm on hand-made feature sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.cluster import Member, containment, group, similarity


def m(id: str, *commands: str, names: tuple[str, ...] = (), full: bool | None = None) -> Member:
    return Member(
        id,
        frozenset(commands),
        frozenset(names),
        full=len(commands) >= 3 if full is None else full,
    )


IMAGE = ("docker build", "docker push", "terraform plan", "terraform apply", "make smoke")
NETWORK = (
    "terraform fmt",
    "terraform init",
    "terraform validate",
    "terraform plan",
    "terraform apply",
)


def test_two_procedures_sharing_terraform_apply_are_two_groups() -> None:
    members = [m(f"img-{i}", *IMAGE, names=("worker", "deploy")) for i in range(4)]
    members += [m(f"net-{i}", *NETWORK, names=("vpc", "change")) for i in range(3)]
    groups = group(members)
    assert groups == [[f"img-{i}" for i in range(4)], [f"net-{i}" for i in range(3)]]


def test_optional_steps_do_not_split_a_procedure() -> None:
    # half the runs tail the logs, a third lint first, one ran an extra inspection
    members = [
        m(
            f"r{i}",
            *NETWORK,
            *(("aws logs tail",) if i % 2 else ()),
            *(("tflint",) if i % 3 == 0 else ()),
            *(("terraform state list",) if i == 4 else ()),
        )
        for i in range(7)
    ]
    assert group(members) == [sorted(f"r{i}" for i in range(7))]


def test_a_failed_partial_run_joins_the_procedure_that_holds_what_it_ran() -> None:
    members = [m(f"img-{i}", *IMAGE) for i in range(3)]
    members += [m(f"net-{i}", *NETWORK) for i in range(3)]
    members.append(m("push-failed", "docker push", full=False))
    groups = group(members)
    assert ["img-0", "img-1", "img-2", "push-failed"] in groups


def test_a_partial_run_both_procedures_hold_stays_alone() -> None:
    # plan + apply is in both procedures: no evidence which one it was
    members = [m(f"img-{i}", *IMAGE) for i in range(3)]
    members += [m(f"net-{i}", *NETWORK) for i in range(3)]
    members.append(m("history-1", "terraform plan", "terraform apply", full=False))
    assert ["history-1"] in group(members)


def test_a_fragment_group_merges_into_the_procedure_it_is_part_of() -> None:
    members = [m(f"net-{i}", *NETWORK, "curl") for i in range(6)]
    members += [m(f"img-{i}", *IMAGE) for i in range(5)]
    # shell-history sessions cut short: plan, apply and a state listing (a detour)
    members += [
        m(f"zsh-{i}", "terraform plan", "terraform apply", "terraform state list", "curl")
        for i in range(3)
    ]
    groups = group(members)
    assert sorted([*(f"net-{i}" for i in range(6)), *(f"zsh-{i}" for i in range(3))]) in groups


def test_names_add_but_never_subtract() -> None:
    titled = [m(f"t{i}", *NETWORK, names=("apply", "prod", "infrastructure")) for i in range(3)]
    untitled = m("shell", *NETWORK)  # the same commands, no title at all
    assert group([*titled, untitled]) == [["shell", "t0", "t1", "t2"]]


def test_members_with_nothing_to_compare_stand_alone() -> None:
    members = [m(f"r{i}", *NETWORK) for i in range(2)] + [m("empty-1"), m("empty-2")]
    assert group(members) == [["r0", "r1"], ["empty-1"], ["empty-2"]]


def test_no_members() -> None:
    assert group([]) == []


def test_similarity_and_containment() -> None:
    weight = {"a": 1.0, "b": 1.0, "c": 1.0}
    profile = {"a": 1.0, "b": 1.0, "c": 0.5}
    assert similarity(frozenset({"a", "b", "c"}), profile, weight) == 2.5 / 3
    assert similarity(frozenset({"a", "b"}), profile, weight) == 2 / 2.5
    assert containment(frozenset({"a"}), profile, weight) == 1.0
    assert containment(frozenset(), profile, weight) == 0.0


COMMANDS = st.sampled_from(
    ["docker build", "docker push", "terraform plan", "terraform apply", "curl", "make smoke", "ls"]
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.frozensets(COMMANDS, max_size=6), st.booleans()), min_size=0, max_size=12
    ),
    st.randoms(use_true_random=False),
)
def test_every_member_lands_once_whatever_the_input_order(
    specs: list[tuple[frozenset[str], bool]], rnd: object
) -> None:
    members = [Member(f"r{i:02d}", cmds, full=full) for i, (cmds, full) in enumerate(specs)]
    groups = group(members)
    assert sorted(i for g in groups for i in g) == sorted(x.id for x in members)
    shuffled = list(members)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert group(shuffled) == groups
