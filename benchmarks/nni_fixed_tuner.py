"""Benchmark-only nnictl tuner: hands out a fixed list of architectures, ``archs_per_trial`` at a time."""

import json

import nni
from nni.tuner import Tuner


class FixedListTuner(Tuner):
    def __init__(self, archs_file: str, archs_per_trial: int = 1):
        with open(archs_file) as f:
            self.archs = json.load(f)
        self.k = archs_per_trial

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        if not self.archs:
            raise nni.NoMoreTrialError("all architectures handed out")
        batch, self.archs = self.archs[: self.k], self.archs[self.k:]
        return {"archs": batch}

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        pass
