"""Model-driven ranking (paper, feature set (c) without VKDNW): a random forest on NASLib's built-in
proxy scores (NAS-Bench-Suite-Zero, precomputed) plus NB201 graph features, trained on 1,024 random
architectures and tested on the other 8,421 of the unique set (ImageNet16-120). Needs VKDNW_SHARED.
Measured run time: docs/examples.md. With VKDNW features, use `vkdnw evaluate --proxies model_driven,...`.

    python examples/model_driven_ranking.py
"""

import numpy as np
import pandas as pd

from vkdnw_plugin.groundtruth import load_nb201_table, load_suite_zero, nb201_accuracy, select_archs
from vkdnw_plugin.metrics import kendall_tau, spearman
from vkdnw_plugin.ranking import ModelDrivenRanker
from vkdnw_plugin.spaces.nb201 import graph_features as nb201_graph_features


def main():
    dataset = "ImageNet16-120"
    table = select_archs(load_nb201_table(), "unique").set_index("arch_str")
    accuracy = nb201_accuracy(table, dataset)
    proxies = load_suite_zero(dataset).reindex(table.index).select_dtypes("number")
    graph = pd.DataFrame([nb201_graph_features(a) for a in table.index], index=table.index)
    features = pd.concat([proxies, graph], axis=1)
    order = np.random.RandomState(0).permutation(len(table))
    train, test = order[:1024], order[1024:]
    ranker = ModelDrivenRanker(random_state=0).fit(features.iloc[train], accuracy.iloc[train])
    predicted = ranker.predict(features.iloc[test])
    truth = accuracy.iloc[test].to_numpy()
    print(f"{dataset}: trained on {len(train)}, tested on {len(test)} architectures")
    print(f"  model-driven (NASLib proxies + graph): KT {kendall_tau(truth, predicted):.3f}  SPR {spearman(truth, predicted):.3f}")
    for name in ("synflow", "jacov", "flops"):
        print(f"  {name:38s} KT {kendall_tau(truth, proxies[name].iloc[test]):.3f}")


if __name__ == "__main__":
    main()
