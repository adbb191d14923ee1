import numpy as np
import pytest

from model.urgency_decision import decide_levels

CLASSES = ["darurat", "rendah", "sedang", "tinggi"]  # scikit-learn's sorted order, not the levels' order


def levels(rows, decision):
    return [CLASSES[i] for i in decide_levels(np.array(rows), CLASSES, decision)]


def test_torn_between_far_levels_the_middle_one_is_the_smaller_mistake():
    torn = [0.0, 0.45, 0.15, 0.40]  # rendah 0.45 or tinggi 0.40
    assert levels([torn], "most_probable") == ["rendah"]
    assert levels([torn], "least_squared_error") == ["sedang"]


def test_a_clear_answer_is_kept():
    rows = [[0.0, 0.8, 0.15, 0.05], [0.05, 0.05, 0.1, 0.8], [0.0, 0.1, 0.8, 0.1]]
    assert levels(rows, "least_squared_error") == ["rendah", "tinggi", "sedang"]


def test_darurat_only_where_it_is_the_most_probable_level():
    assert levels([[0.40, 0.30, 0.0, 0.30]], "least_squared_error") == ["darurat"]
    # most of the mass near darurat, but another level is more probable: the emergency is left to the rules
    assert levels([[0.35, 0.0, 0.25, 0.40]], "least_squared_error") == ["tinggi"]
    # darurat's share still counts in the distance: it pulls a sedang/tinggi tie towards tinggi
    assert levels([[0.30, 0.0, 0.40, 0.30]], "least_squared_error") == ["tinggi"]


def test_unknown_decision_is_refused():
    with pytest.raises(ValueError, match="urgency_decision"):
        decide_levels(np.array([[0.25] * 4]), CLASSES, "median")
