import pandas as pd
import pytest
import torch

from vkdnw_plugin.spaces.nb201 import (
    NUM_ARCHS,
    OPS,
    all_archs,
    dataset_shape,
    graph_features,
    is_unique,
    nb201_network,
    parse_arch,
)

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_string_and_naslib_round_trip():
    arch = parse_arch(ARCH)
    assert arch.arch_str == ARCH
    assert parse_arch(arch.naslib) == arch
    assert parse_arch(str(arch.naslib)) == arch
    assert parse_arch(list(arch.naslib)) == arch


def test_naslib_codes_follow_the_documented_edge_order():
    # NASLib edges (1,2)(1,3)(1,4)(2,3)(2,4)(3,4) = string edges 0→1, 0→2, 0→3, 1→2, 1→3, 2→3;
    # codes 0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 avgpool.
    arch = parse_arch((4, 3, 2, 0, 1, 0))
    assert arch.arch_str == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|skip_connect~2|"


@pytest.mark.parametrize(
    "bad, token",
    [
        ("|conv5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv5x5"),
        ("|none~0|+|none~0|none~1|", "3 nodes"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "none~1"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2"),
        ((0, 1, 2, 3, 4), "6 op codes"),
        ((0, 1, 2, 3, 4, 7), "7"),
        (-1, "-1"),
        (NUM_ARCHS, str(NUM_ARCHS)),
        (3.5, "float"),
    ],
)
def test_bad_architectures_name_the_bad_part(bad, token):
    with pytest.raises(ValueError, match=None) as info:
        parse_arch(bad)
    message = str(info.value)
    assert token in message and "\n" not in message


def test_unknown_op_error_lists_the_allowed_ops():
    with pytest.raises(ValueError) as info:
        parse_arch("|conv5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert all(op in str(info.value) for op in OPS)


def test_index_order_and_unique_set_match_the_table(shared):
    table = pd.read_csv(shared / "data/nb201/nb201_accuracy.csv")
    for index in (0, 1, 777, NUM_ARCHS - 1):
        row = table.iloc[index]
        arch = parse_arch(index)
        assert arch.arch_str == row.arch_str
        assert arch.naslib == tuple(int(c) for c in row.naslib_ops.strip("()").split(","))
        assert parse_arch(row.arch_str).index == index
    ours = {a.arch_str for a in all_archs() if is_unique(a)}
    assert ours == set(table.arch_str[table.unique_9445])


def test_network_matches_the_authors_modules_and_logits(reference_runs):
    for name, ref, _ in reference_runs:
        model = nb201_network(ref["info"]["arch"], num_classes=ref["info"]["classes"])
        assert list(model.state_dict()) == list(ref["state_dict"]), name
        model.load_state_dict(ref["state_dict"], strict=True)
        with torch.no_grad():
            features, logits = model.eval()(ref["input"])
        torch.testing.assert_close(logits, ref["logits_eval"], rtol=1e-4, atol=1e-4 * ref["logits_eval"].abs().max().item())
        assert features.shape == (ref["input"].shape[0], 64)


def test_dataset_shapes_and_errors():
    assert dataset_shape("ImageNet16-120") == (120, 16)
    with pytest.raises(ValueError, match="cifar10, cifar100, ImageNet16-120"):
        dataset_shape("imagenet")


def test_graph_features_by_hand():
    # 0→1 conv3x3, 0→2 none, 1→2 skip, 0→3 avgpool, 1→3 none, 2→3 conv1x1
    f = graph_features("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    # paths: 0→3 (avgpool), 0→1→2→3 (conv3x3, skip, conv1x1)
    assert f["paths_total"] == 2 and f["path_min_len"] == 1 and f["path_max_len"] == 3
    assert f["paths_through_nor_conv_3x3"] == 1 and f["paths_through_avg_pool_3x3"] == 1
    assert f["op_count_none"] == 2 and f["op_count_skip_connect"] == 1
    empty = graph_features("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert empty["paths_total"] == 0 and empty["path_max_len"] == 0
