"""One name, one number: the same NB201 architecture, seed and options give the same VKDNW entropy and
VKDNW_single through every door, compared exactly: here the core's (``vkdnw score``, ``vkdnw evaluate``,
``score_architecture``, ``compute_proxies`` on the protocol's model and input); the NNI and NASLib
doors are compared with the same :data:`ARCHS` in their adapters' test files."""

import json

import pandas as pd

from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.cli import main
from vkdnw_plugin.evaluate import EvaluateConfig, evaluate
from vkdnw_plugin.groundtruth import ground_truth
from vkdnw_plugin.proxies import compute_proxies
from vkdnw_plugin.scoring import score_architecture, seeded_setup
from vkdnw_plugin.vkdnw_options import VKDNWOptions

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]
BATCH, SEED = 4, 3


def test_every_door_gives_the_same_entropy(tmp_path, capsys, shared):
    core = {a: score_architecture("nb201", a, dataset="cifar100", seed=SEED, batch=BATCH)["reference"].entropy for a in ARCHS}
    for arch in ARCHS:
        assert main(["score", "--arch", arch, "--dataset", "cifar100", "--seeds", str(SEED), "--batch", str(BATCH), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["runs"][0]["entropy"] == core[arch]
        model, inputs = seeded_setup("nb201", arch, VKDNWOptions(seed=SEED, batch=BATCH), dataset="cifar100")[:2]
        assert compute_proxies(model, inputs, ["vkdnw"])["vkdnw"] == core[arch]
    config = EvaluateConfig(dataset="cifar100", proxies=["vkdnw"], archs=ARCHS, seeds=[SEED], options=VKDNWOptions(batch=BATCH))
    cache = ResultCache(tmp_path / "c.sqlite")
    try:
        evaluate(config, cache, ground_truth("nb201", "cifar100"), tmp_path / "eval", progress=False, bootstrap=0)
    finally:
        cache.close()
    scores = pd.read_csv(tmp_path / "eval" / "scores.csv", index_col="arch")
    assert {a: scores.loc[a, "vkdnw"] for a in ARCHS} == core

