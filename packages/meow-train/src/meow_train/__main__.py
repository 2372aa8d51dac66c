"""`python -m meow_train ...` (what `torchrun --nproc_per_node N -m meow_train run ...` launches)."""

from meow_train.cli import main

if __name__ == "__main__":
    main()
