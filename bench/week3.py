"""The PyTorch side of week 3's benchmark (id as in checks/week3/src/week3/chargpt.rs).

One training step of nanoGPT's CPU "baby GPT" (4 layers, 4 heads, 128 wide, 64 positions,
vocab 65, batch 12, no dropout): forward, cross-entropy, backward, global-norm clipping at 1.0
and an AdamW step with the two decay groups, as the week's train loop does it. And generating
with it: the first character after a 7-character prompt, and each later one over a full window.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

V, L, H, C, T, B = 65, 4, 4, 128, 64, 12


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, x):
        h = self.wte(x) + self.wpe(torch.arange(x.shape[1]))
        for blk in self.h:
            h = blk(h)
        return self.ln_f(h) @ self.wte.weight.T


def train_step():
    model = Gpt()
    params = list(model.parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1}, {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    x = (torch.arange(B * T) * 7919 % V).reshape(B, T)
    y = (torch.arange(B * T) * 7919 % V + 1).reshape(B, T) % V

    def run():
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return run


def next_char(t):
    """One generated character: the forward pass in evaluation mode over t characters, the last
    position's logits read back (as `just serve` and the book's live page do, with no cache)."""
    model = Gpt().eval()
    x = (torch.arange(t) * 7919 % V).reshape(1, t)

    def run():
        with torch.no_grad():
            model(x)[0, -1].tolist()
    return run


BENCHES = {
    "week3.chargpt.train_step": train_step,
    "week3.chargpt.first_char": lambda: next_char(7),
    "week3.chargpt.next_char": lambda: next_char(T),
}
