"""The authors' way to the VKDNW Jacobian, ``vmap(jacrev)`` over the whole model: the baseline the
benchmarks compare the engine with (imported by ``speed.py`` and ``throughput.py``)."""

from __future__ import annotations


def naive_entropy(model, x) -> float:
    """The authors' approach: ``vmap(jacrev)`` over the whole model, then the same Fisher and spectrum."""
    import torch
    from torch.func import functional_call, jacrev, vmap

    from vkdnw_plugin.engine import fisher_matrix, logits_of, select_tensors, spectrum_entropy

    names = select_tensors(model)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def per_sample(sample):
        def logits(picked):
            full = dict(params)
            for name, value in picked.items():
                flat = full[name].flatten().clone()
                flat[0] = value[0]
                full[name] = flat.view_as(params[name])
            return logits_of(functional_call(model, (full, buffers), (sample.unsqueeze(0),))).squeeze(0)

        return jacrev(logits)({n: params[n].flatten()[:1] for n in names})

    jac_dict = vmap(per_sample)(x)
    jac = torch.cat([jac_dict[n].flatten(2) for n in names], dim=2)
    with torch.no_grad():
        logits = logits_of(model(x))
    return spectrum_entropy(fisher_matrix(jac, logits, "reference"), 9, "reference")[0]
