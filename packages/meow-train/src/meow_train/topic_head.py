"""What training optimises besides the reply: a topic head and, optionally, the prompt's own text.

The reply's topic is decided by a handful of tokens, so the language-model loss carries little
signal about it, and a small model memorises the reply texts long before it learns which prompt
words call for which topic. With `TrainConfig.topic_loss_weight > 0`, a linear classifier reads
the hidden state at the `<miso>` position (the one that predicts the reply's first token) and is
trained to name the sample's category alongside the next-token loss. The head is never saved in a
model directory: it only shapes the representation the output head then speaks from.

With `TrainConfig.prompt_loss_weight > 0`, the next-token loss is also taken on the prompt's text
(weighted apart from the reply's): the model then learns how people talk about each topic, so a
word that only ever fills the same slots as "suitcase" ends up read like "suitcase". The logs and
evaluation still report the reply's loss alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from meow_model.pytorch import IGNORE_INDEX, MeowForCausalLM


class TrainModule(nn.Module):
    """What the optimizer trains: the language model and, when weighted, the topic head."""

    def __init__(
        self,
        model: MeowForCausalLM,
        n_topics: int,
        topic_loss_weight: float,
        prompt_loss_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.topic_loss_weight = topic_loss_weight
        self.prompt_loss_weight = prompt_loss_weight
        self.topic_head = (
            nn.Linear(model.config.d_model, n_topics, bias=False) if topic_loss_weight > 0 else None
        )
        if self.topic_head is not None:
            nn.init.normal_(self.topic_head.weight, std=0.02)

    def forward(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        topic_pos: torch.Tensor,
        topics: torch.Tensor,
        prompt_targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to optimise, the reply's next-token loss): the second is what logs report.

        `prompt_targets` (see `batches.prompt_targets`) is needed when `prompt_loss_weight > 0`.
        """
        hidden = self.model.hidden_states(inputs)
        lm_loss = self.model.loss(hidden, targets)
        objective = lm_loss
        if self.prompt_loss_weight > 0:
            if prompt_targets is None:
                raise ValueError("prompt_loss_weight > 0 needs the prompt targets")
            objective = objective + self.prompt_loss_weight * self.model.loss(
                hidden, prompt_targets
            )
        if self.topic_head is not None:
            rows = torch.arange(inputs.shape[0], device=inputs.device)
            logits = self.topic_head(hidden[rows, topic_pos])
            topic_loss = F.cross_entropy(logits.float(), topics, ignore_index=IGNORE_INDEX)
            objective = objective + self.topic_loss_weight * topic_loss
        return objective, lm_loss
