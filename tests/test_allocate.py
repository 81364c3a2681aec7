"""labkit.allocate: one scan and one greedy allocation for every technique."""
import pytest

from labkit import allocate

COST = {"a": {8: 0.0, 4: 0.10, 2: 0.90}, "b": {8: 0.0, 4: 0.02, 2: 0.05}}
SIZE = {"a": {8: 800, 4: 400, 2: 200}, "b": {8: 800, 4: 400, 2: 200}}


def test_greedy_moves_the_cheapest_layer_first_and_fits():
    alloc = allocate.greedy(COST, SIZE, budget=1000)
    assert alloc == {"a": 8, "b": 2}                        # b is cheaper per byte: it goes down, twice
    assert sum(SIZE[n][o] for n, o in alloc.items()) <= 1000


def test_refill_spends_what_is_left_and_without_it_stops_at_the_first_fit():
    cost = {"a": {8: 0.0, 4: 0.5, 2: 0.6}, "b": {8: 0.0, 4: 0.01, 2: 0.02}}
    size = {"a": {8: 800, 4: 400, 2: 100}, "b": {8: 800, 4: 700, 2: 600}}
    without = allocate.greedy(cost, size, budget=1100, refill=False)
    assert sum(size[n][o] for n, o in without.items()) <= 1100
    with_refill = allocate.greedy(cost, size, budget=1100, refill=True)
    assert sum(size[n][o] for n, o in with_refill.items()) <= 1100
    assert sum(cost[n][o] for n, o in with_refill.items()) <= sum(cost[n][o] for n, o in without.items())


def test_greedy_refuses_a_budget_nothing_fits_and_mismatched_tables():
    with pytest.raises(ValueError, match="raise the budget"):
        allocate.greedy(COST, SIZE, budget=100)
    with pytest.raises(ValueError, match="same layers and options"):
        allocate.greedy({"a": COST["a"]}, SIZE, budget=1000)


def test_envelope_is_the_running_maximum():
    assert allocate.envelope([0.0, -0.05, 0.4, 0.2, 1.0]) == [0.0, 0.0, 0.4, 0.4, 1.0]


def test_scan_measures_every_layer_and_option_and_reports_progress():
    seen = []
    table = allocate.scan(["x", "y"], [1, 2, 3], lambda layer, o: (layer == "y") * 10 + o,
                          report=lambda f, text: seen.append(f))
    assert table == {"x": [1.0, 2.0, 3.0], "y": [11.0, 12.0, 13.0]}
    assert seen[-1] == 1.0 and len(seen) == 6
