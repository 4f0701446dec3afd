"""examples/static_graph.py runs (short settings) and shows what it claims."""

import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_static_graph_example_trains_the_neuron_by_feeding_batches(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_static_graph",
                                                  EXAMPLES / "static_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--quick", "--out", str(tmp_path)])
    assert result["accuracy_in_graph"] >= 0.95 and result["accuracy_outside"] >= 0.95
    assert result["max_grad_difference"] < 1e-6      # the graph's gradients are the eager ones
    for name in ("static_graph.svg", "eager_graph.svg"):
        svg = (tmp_path / name).read_text()
        assert "<svg" in svg and "alpha" in svg
    assert "derivative graph" in (tmp_path / "static_graph.svg").read_text()
    assert "accuracy" in capsys.readouterr().out
