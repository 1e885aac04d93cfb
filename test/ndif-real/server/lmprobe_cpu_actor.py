"""A CPU-only model actor for NDIF 0.1.2, selected through NDIF's own extension point
(NDIF_MODEL_IMPORT_PATH=lmprobe_cpu_actor.CPUModelActor). Test-only code, never part of the SDK.

Why it exists: NDIF's stock actor (ndif.services.ray.deployments.modeling.base.ModelActor) loads
weights onto CUDA devices and calls torch.cuda.* unconditionally (set_device, the per-process
memory fraction, synchronize, the device-placement check), so it cannot start on a machine
without a GPU. This subclass overrides only those GPU-specific methods: loading, the moves to and
from NDIF's model cache, and cleanup. Receiving a request, running the nnsight trace, building
the response and uploading the result stay NDIF's own code, which is what the tests exercise.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import ray
from ndif.services.ray.deployments.modeling.base import KILL_REASON_PREEMPTED, BaseModelDeployment
from nnsight.modeling.huggingface import HuggingFaceModel

logger = logging.getLogger("ndif.modeling")


class CPUModelDeployment(BaseModelDeployment):
    """NDIF's deployment with CPU placement instead of CUDA placement."""

    def load_from_disk(self) -> HuggingFaceModel:
        """Loads the checkpoint on CPU (NDIF's version dispatches onto CUDA devices)."""
        started = time.time()
        model = HuggingFaceModel.from_model_key(self.model_key, dispatch=True, dtype=self.dtype_name, **self.kwargs)
        model._module.requires_grad_(False)
        logger.info("Loaded %s on CPU in %.2fs", self.model_key, time.time() - started)
        return model

    async def to_cache(self) -> None:
        """NDIF moves an evicted model to host memory; on CPU it is already there: just stop its work."""
        await self.cancel(KILL_REASON_PREEMPTED)
        self.cached = True

    def from_cache(self, gpu_mem_bytes_by_id: Any) -> None:
        """NDIF moves a cached model back onto its GPUs; on CPU only the bookkeeping changes."""
        self.gpu_mem_bytes_by_id = gpu_mem_bytes_by_id
        self.cached = False

    def cleanup(self) -> None:
        """NDIF's cleanup without torch.cuda.synchronize / empty_cache."""
        self.kill_switch.clear()
        self.kill_reason = None
        self.execution_ident = None
        self.model.interleaver.cancel()
        gc.collect()


@ray.remote(num_cpus=1, max_restarts=-1)
class CPUModelActor(CPUModelDeployment):
    """The Ray actor class NDIF's controller instantiates per deployment."""
