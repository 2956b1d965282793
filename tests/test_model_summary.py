"""The network against the paper (Howard et al. 2017, Tables 4, 6, 7): mult-adds and parameters."""
import pytest

from src.tools.model_summary import main, summarize

# (alpha, resolution) -> (million mult-adds, million parameters), 1000 classes
PAPER = {(1.0, 224): (569, 4.2), (0.75, 224): (325, 2.6), (0.5, 224): (149, 1.3), (0.25, 224): (41, 0.5),
         (1.0, 192): (418, 4.2), (1.0, 160): (290, 4.2), (1.0, 128): (186, 4.2)}


@pytest.mark.parametrize("alpha,resolution", sorted(PAPER))
def test_matches_paper(alpha, resolution):
    mult_adds, params = PAPER[(alpha, resolution)]
    _, total_params, total_mult_adds = summarize(alpha, resolution, 1000)
    assert abs(total_mult_adds / 1e6 - mult_adds) / mult_adds < 0.01
    assert round(total_params / 1e6, 1) == params  # the paper gives parameters to 0.1 M


def test_per_layer_table(capsys):
    main(["--per_layer", "--image_size", "224"])
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["network.0", "conv", "3x3/s2"] and "(32, 112, 112)" in out[1]
    assert out[-2].startswith("fc") and "1,024,000" in out[-2]
    assert out[-1].endswith("4.23 M parameters, 568.7 M mult-adds")
    assert len(out) == 1 + 27 + 1 + 1
