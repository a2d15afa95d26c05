"""VKDNW: entropy of the Fisher-information spectrum of an untrained network (Týbl & Neumann, CVPR 2025).

For each sampled weight θ_p (one element of each of the first ``n_tensors`` parameter tensors) and each
input x_n, J_n = ∂ logits(x_n) / ∂ θ is a (C, P) Jacobian. With p_n the α-smoothed softmax
(α = 0.05 rounded to float16), two Fisher matrices are offered:

* ``modes="exact"``: the paper's F = mean_n J_nᵀ (diag(p_n) − p_n p_nᵀ) J_n, in float64;
* ``modes="reference"``: what the authors' code computes, F = mean_n (L_n J_n)ᵀ (L_n J_n) with L_n the
  Cholesky factor of diag(p_n) − p_n p_nᵀ (so Lᵀ L instead of L Lᵀ), in float32 with their ops.

The nine deciles q of F's eigenvalues, normalised t = q / (‖q‖₁ + 1e-10), give the entropy
−Σ t ln(t + 1e-10). VKDNW_single ranks networks by (number of parameter tensors, entropy).

Speed: instead of ``vmap(jacrev)`` over the whole model, every sampled weight gets a per-sample
zero "delta" δ_p ∈ R^B, added to its module's output along the tangent ∂out/∂θ_p (one forward-mode
product of that module). Then ∂logits_n/∂δ_{p,n} = J_n[:, p], so K = min(C, head width) batched
vector-Jacobian products over one shared forward give every J_n; no weight gradient is formed.

Modules: :mod:`.score` (vkdnw_score), :mod:`.result`, :mod:`.sampling` (which tensors),
:mod:`.jacobian` (J and the direction cost model) over :mod:`.hooks` (delta hooks) and
:mod:`.tangents` (closed-form tangent rules), :mod:`.outputs` (logits), :mod:`.fisher`,
:mod:`.spectrum`; private :mod:`._compile` (compiled blocks) and :mod:`._precision` (no TF32).
"""

from .fisher import fisher_matrix, reference_cholesky, smoothed_softmax
from .jacobian import JacobianPlan, per_sample_jacobian, plan_jacobian
from .outputs import logits_of
from .result import AUTHORS_FALLBACK, VKDNWResult, count_tensors
from .sampling import select_tensors
from .score import vkdnw_score, vkdnw_scores
from .spectrum import quantile_levels, spectrum_entropy

__all__ = [
    "VKDNWResult",
    "vkdnw_score",
    "vkdnw_scores",
    "per_sample_jacobian",
    "plan_jacobian",
    "JacobianPlan",
    "fisher_matrix",
    "reference_cholesky",
    "smoothed_softmax",
    "spectrum_entropy",
    "quantile_levels",
    "select_tensors",
    "logits_of",
    "count_tensors",
    "AUTHORS_FALLBACK",
]
