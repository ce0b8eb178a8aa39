"""Tests of usefuns.vis: figures have the expected axes, lines and images; bad input is refused."""
import io

import matplotlib
import pytest
import torch

from usefuns import vis

matplotlib.use("Agg")


def _stats(n_iters=10, n_epochs=3, offset=0.0):
    return {"loss_history": [2.3 - 0.1 * i for i in range(n_iters)],
            "train_acc_history": [0.1 + offset + 0.2 * e for e in range(n_epochs)],
            "val_acc_history": [0.1 + offset + 0.15 * e for e in range(n_epochs)]}


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_does_plot_stats_draw_loss_and_two_accuracy_curves():
    fig = vis.plot_stats(_stats())
    assert len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == 1 and len(fig.axes[1].get_lines()) == 2
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == pytest.approx(_stats()["loss_history"])
    assert fig.axes[1].get_legend() is not None


def test_does_plot_stats_accept_tensors_and_render():
    stats = {"loss_history": [torch.tensor(2.3), torch.tensor(2.1)],
             "train_acc_history": torch.tensor([0.1, 0.2]), "val_acc_history": [0.1, 0.15]}
    fig = vis.plot_stats(stats)
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 2]
    fig.savefig(io.BytesIO(), format="png")  # renders without a screen


def test_does_a_figure_show_as_png_in_jupyter_without_pyplot():
    fig = vis.plot_stats(_stats())
    assert fig._repr_png_().startswith(b"\x89PNG")  # IPython calls this to display the value


def test_does_plot_stats_name_missing_keys():
    stats = _stats()
    del stats["val_acc_history"]
    with pytest.raises(ValueError, match="missing val_acc_history"):
        vis.plot_stats(stats)
    with pytest.raises(ValueError, match="dict that nn_train returns"):
        vis.plot_stats([1, 2, 3])


def test_does_plot_acc_curves_draw_one_line_per_label():
    runs = {f"hidden {h}": _stats(offset=0.01 * h) for h in (2, 8, 32)}
    fig = vis.plot_acc_curves(runs)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_lines()) == 3
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)


def test_does_plot_acc_curves_refuse_empty_or_incomplete_runs():
    with pytest.raises(ValueError, match="non-empty dict"):
        vis.plot_acc_curves({})
    with pytest.raises(ValueError, match=r"stats_by_label\['bad'\] is missing loss_history"):
        bad = {"train_acc_history": [], "val_acc_history": []}
        vis.plot_acc_curves({"ok": _stats(), "bad": bad})


def test_does_show_net_weights_tile_gray_digits_weights():
    W1 = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    fig = vis.show_net_weights(W1, (8, 8))
    (image,) = _images(fig)
    assert len(fig.axes) == 1
    grid = image.get_array()
    assert grid.shape == (3 * 9 - 1, 4 * 9 - 1)  # 10 tiles in 4 columns, 1 pixel apart
    assert grid.min() >= 0.0 and grid.max() <= 1.0
    assert grid[:8, :8].min() == 0.0 and grid[:8, :8].max() == 1.0  # each tile scaled to [0, 1]


def test_does_show_net_weights_show_cifar_weights_in_rgb():
    W1 = torch.randn(3072, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (image,) = _images(vis.show_net_weights(W1, (3, 32, 32)))
    assert image.get_array().shape == (2 * 33 - 1, 3 * 33 - 1, 3)  # channels last


def test_does_show_net_weights_refuse_mismatched_or_integer_weights():
    with pytest.raises(ValueError, match=r"W1 has D=63 rows but image_shape \(8, 8\) has 64"):
        vis.show_net_weights(torch.zeros(63, 10), (8, 8))
    with pytest.raises(ValueError, match="W1 has D=10 rows"):
        vis.show_net_weights(torch.zeros(10, 64), (8, 8))  # transposed
    with pytest.raises(ValueError, match="floating-point"):
        vis.show_net_weights(torch.zeros(64, 10, dtype=torch.int64), (8, 8))
    with pytest.raises(ValueError, match="2 dimensions"):
        vis.show_net_weights(torch.zeros(64), (8, 8))
    with pytest.raises(ValueError, match="image_shape must be"):
        vis.show_net_weights(torch.zeros(3072, 2), (32, 32, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        vis.show_net_weights([[0.0]], (1, 1))


def _examples(C=3, per=4, shape=(8, 8)):
    D = int(torch.tensor(shape).prod())
    g = torch.Generator().manual_seed(0)
    X = torch.rand(C * per, D, generator=g)
    y = torch.arange(C * per) % C
    return X, y


def test_does_show_examples_draw_one_row_per_class():
    X, y = _examples()
    mean = X.mean(0)
    fig = vis.show_examples(X - mean, y, (8, 8), ["a", "b", "c"], mean=mean, per_class=3)
    assert len(fig.axes) == 3 and len(_images(fig)) == 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["a", "b", "c"]
    assert _images(fig)[0].get_array().shape == (8, 3 * 9 - 1)


def test_does_show_examples_pad_classes_with_few_images_and_show_rgb():
    X, y = _examples(C=2, per=2, shape=(3, 4, 4))
    fig = vis.show_examples(X, y, (3, 4, 4), ["cat", "dog", "empty"], per_class=5)
    assert len(fig.axes) == 3
    assert _images(fig)[2].get_array().shape == (4, 5 * 5 - 1, 3)


def test_does_show_examples_refuse_float_labels_and_bad_shapes():
    X, y = _examples()
    names = ["a", "b", "c"]
    with pytest.raises(TypeError, match="y must be an integer tensor"):
        vis.show_examples(X, y.float(), (8, 8), names)
    with pytest.raises(TypeError, match="y must be an integer tensor"):
        vis.show_examples(X, y.tolist(), (8, 8), names)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        vis.show_examples(X, y, (8, 8), names[:2])
    with pytest.raises(ValueError, match="y has shape"):
        vis.show_examples(X, y[:-1], (8, 8), names)
    with pytest.raises(ValueError, match="X has D=64 columns"):
        vis.show_examples(X, y, (3, 8, 8), names)
    with pytest.raises(ValueError, match="mean has shape"):
        vis.show_examples(X, y, (8, 8), names, mean=torch.zeros(63))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_do_the_figures_take_cuda_tensors():
    W1 = torch.randn(64, 4, device="cuda")
    assert len(_images(vis.show_net_weights(W1, (8, 8)))) == 1
    X, y = _examples()
    fig = vis.show_examples(X.cuda(), y.cuda(), (8, 8), ["a", "b", "c"], mean=X.mean(0).cuda())
    assert len(fig.axes) == 3
    stats = {k: [torch.tensor(v, device="cuda") for v in vals] for k, vals in _stats().items()}
    assert len(vis.plot_stats(stats).axes) == 2


def test_does_the_search_heatmap_show_the_best_accuracy_per_cell():
    results = {(0.1, 8, 0.0, 0.9): 0.5, (0.1, 16, 0.0, 0.9): 0.7, (1.0, 8, 0.0, 0.9): 0.9,
               (0.1, 8, 0.01, 0.9): 0.4, (1.0, 8, 0.01, 1.0): 0.6}
    fig = vis.plot_search_heatmap(results)
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    assert data.shape == (2, 2)
    assert data[0, 0] == pytest.approx(0.7) and data[1, 0] == pytest.approx(0.9)
    assert {t.get_text() for t in ax.texts} == {"70.0%", "90.0%", "40.0%", "60.0%"}


@pytest.mark.parametrize("bad", [{}, [1, 2], {(0.1, 8): 0.5}])
def test_does_the_search_heatmap_refuse_bad_results(bad):
    with pytest.raises(ValueError, match="search_results"):
        vis.plot_search_heatmap(bad)
