"""collectors/branches.py: current thread first, every other branch once, hostile trees safe."""

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.branches import threads


def test_current_thread_then_branches_from_their_fork():
    parents = {"r": None, "a": "r", "b": "a", "b2": "a", "c": "b", "c2": "b2", "d2": "b2"}
    out = threads(parents, current="c2")
    assert [t.ids for t in out] == [("r", "a", "b2", "c2"), ("b", "c"), ("d2",)]
    assert [t.fork_after for t in out] == [None, "a", "b2"]
    assert [t.current for t in out] == [True, False, False]


def test_without_current_the_newest_leaf_is_current():
    parents = {"root": None, "1": "root", "2": "1", "3": "1"}
    times = {"root": 0, "1": 1, "2": 5, "3": 3}
    assert threads(parents, sort_key=times.get)[0].ids == ("root", "1", "2")
    assert threads(parents, current="missing", sort_key=times.get)[0].ids == ("root", "1", "2")
    assert threads(parents)[0].ids == ("root", "1", "3")  # no times: last in document order


def test_platform_child_order_is_respected():
    parents = {"r": None, "x": "r", "y": "r"}
    out = threads(parents, current="r", children={"r": ["y", "x"]})
    assert [t.ids for t in out] == [("r",), ("y",), ("x",)]


def test_a_current_node_inside_the_tree_ends_the_thread_there():
    out = threads({"r": None, "a": "r", "b": "a"}, current="a")
    assert [t.ids for t in out] == [("r", "a"), ("b",)]


def test_orphans_cycles_and_self_parents_are_shown_once():
    parents = {"a": "missing", "b": "a", "x": "y", "y": "x", "s": "s"}
    out = threads(parents, current="b")
    shown = [n for t in out for n in t.ids]
    assert sorted(shown) == sorted(parents) and len(shown) == len(set(shown))
    assert out[0].ids == ("a", "b")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 35)), max_size=30),
       st.one_of(st.none(), st.integers(0, 35)))
def test_every_node_exactly_once_whatever_the_input(parents, current):
    out = threads(parents, current=current)
    shown = [n for t in out for n in t.ids]
    assert sorted(shown) == sorted(parents)
    assert len(shown) == len(set(shown))
    if parents:
        assert out[0].current and sum(t.current for t in out) == 1
        for t in out[1:]:  # a branch continues from something already shown
            assert t.fork_after is None or t.fork_after in shown


def test_threads_in_markdown_numbered_once_with_branch_headings():
    from collectors import markdown as md
    from collectors.threadmd import add_threads, branch_heading

    parents = {"r": None, "a": "r", "b": "a", "b2": "a", "x": "gone"}
    doc = md.Document()
    shown: list[tuple[int, str]] = []
    messages = {"r": "R", "a": "A", "b": "B", "b2": "B2"}  # "x" is not a message
    count = add_threads(doc, threads(parents, current="b2"), messages.get,
                        lambda n, text: shown.append((n, text)),
                        lambda n, t, numbers: branch_heading(n, t, numbers, "a separate start"))
    assert count == 4 and shown == [(1, "R"), (2, "A"), (3, "B2"), (4, "B")]
    assert doc.render().strip().split("\n\n") == [
        "## Branch 1 (current)", "## Branch 2 (continues after message 2)",
        "## Branch 3 (a separate start)"]
