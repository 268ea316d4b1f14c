"""Data-parallel training with `torch.nn.parallel.DistributedDataParallel`.

Launch with torchrun, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``::

    torchrun --standalone --nproc-per-node 4 -m massrecon train config.toml --run-dir run

The backend is NCCL on CUDA and gloo on CPU.  Each rank draws its own shard of every epoch
(`~massrecon.training.data.ResumableSampler` with ``rank`` and ``world_size``, the
`~torch.utils.data.DistributedSampler` scheme) and a per-rank batch of
``batch_size // world_size``; DDP averages the gradients, which equals the gradient of the global
batch because every loss is a per-sample mean.  Only rank 0 writes checkpoints and metrics.
"""

import os

import torch
import torch.distributed as dist

from ..logger import log

__all__ = ["DistributedContext", "setup_distributed", "cleanup_distributed", "wrap_ddp", "unwrap"]


class DistributedContext:
    """Rank, world size and device of this process.

    Examples
    --------
    >>> from massrecon.training.distributed import DistributedContext
    >>> ctx = DistributedContext()
    >>> ctx
    <DistributedContext rank 0/1 on cpu>
    >>> ctx.is_main, DistributedContext(rank=1, world_size=2).is_main
    (True, False)
    """

    def __init__(self, rank=0, world_size=1, local_rank=0, device=None, initialized=False):
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.device = device if device is not None else torch.device("cpu")
        self.initialized = initialized

    @property
    def is_main(self):
        """True on rank 0."""
        return self.rank == 0

    def __repr__(self):
        return f"<DistributedContext rank {self.rank}/{self.world_size} on {self.device}>"


def setup_distributed(backend=None):
    """Initialise the process group from torchrun's environment (a no-op for one process).

    Returns
    -------
    `DistributedContext`

    Examples
    --------
    Outside torchrun (no ``WORLD_SIZE`` in the environment) there is one process and no
    process group; the device is the GPU if there is one, else the CPU:

    >>> from massrecon.training.distributed import cleanup_distributed, setup_distributed
    >>> ctx = setup_distributed()
    >>> ctx.rank, ctx.world_size, ctx.is_main, ctx.initialized
    (0, 1, True, False)
    >>> cleanup_distributed(ctx)  # nothing to destroy
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world <= 1:
        device = torch.device("cuda") if cuda else torch.device("cpu")
        return DistributedContext(device=device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if backend is None:
        backend = "nccl" if cuda else "gloo"
    # a process group set up by the caller (several runs in one job) is used and left alone
    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    log.info(f"distributed training: rank {rank}/{world}, backend {backend}, device {device}")
    return DistributedContext(rank, world, local_rank, device, initialized=created)


def cleanup_distributed(ctx):
    """Destroy the process group if `setup_distributed` created it.

    Examples
    --------
    A context without a process group of its own is left as it is:

    >>> from massrecon.training.distributed import DistributedContext, cleanup_distributed
    >>> cleanup_distributed(DistributedContext()) is None
    True
    """
    if ctx.initialized and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(module, ctx):
    """Wrap ``module`` in DistributedDataParallel when running on several processes.

    Examples
    --------
    With one process the module is returned as it is:

    >>> from torch import nn
    >>> from massrecon.training.distributed import DistributedContext, wrap_ddp
    >>> net = nn.Linear(2, 1)
    >>> wrap_ddp(net, DistributedContext()) is net
    True
    """
    if ctx.world_size <= 1:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def unwrap(module):
    """The module inside a DistributedDataParallel (and torch.compile) wrapper (or the module itself).

    Examples
    --------
    >>> from torch import nn
    >>> from massrecon.training.distributed import DistributedContext, unwrap, wrap_ddp
    >>> net = nn.Linear(2, 1)
    >>> unwrap(wrap_ddp(net, DistributedContext())) is net
    True
    """
    module = getattr(module, "_orig_mod", module)  # inside torch.compile's wrapper
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module
