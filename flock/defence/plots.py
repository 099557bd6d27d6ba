"""The defence report's plots: accuracy per round per defence, and the stakes of honest
participants against the attackers', one panel per attack (matplotlib, imported when a plot is
drawn)."""

from __future__ import annotations

import math
from pathlib import Path

from flock.defence.grid import ATTACKS, DEFENCES, RULES
from flock.defence.summary import Cell, Key, cell_for


def _grid_axes(count: int):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat)


def _label_axes(ax, title: str, top: float, ylabel: str) -> None:  # type: ignore[no-untyped-def]
    """One panel's title, y range from 0 to `top`, axis labels and grid."""
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, top)
    ax.set_xlabel("round", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(alpha=0.3)


def _save_figure(plt, fig, title: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Title, lay out, write and close a figure."""
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_accuracy(cells: dict[Key, Cell], dataset: str, eta: float, path: Path) -> None:
    """Accuracy per round of every defence, one panel per attack at `eta` (none: no file)."""
    attacks = [a for a in ATTACKS if any(k[:3] == (dataset, a, eta) for k in cells)]
    if not attacks:
        return
    plt, fig, axes = _grid_axes(len(attacks))
    for ax, attack in zip(axes, attacks, strict=False):
        for defence in DEFENCES:
            cell, _ = cell_for(cells, (dataset, attack, eta, defence))
            if cell is not None and cell.accuracy:
                style = "-" if defence in RULES else "--"
                rounds = range(1, len(cell.accuracy) + 1)
                ax.plot(rounds, cell.accuracy, style, label=defence, linewidth=1.2)
        _label_axes(ax, f"{attack}, eta {eta:g}", 100, "holdout accuracy %")
    axes[0].legend(fontsize=7)
    _save_figure(plt, fig, f"{dataset}: accuracy per round per defence (median of seeds)", path)


def plot_stake(cells: dict[Key, Cell], dataset: str, eta: float, path: Path) -> None:
    """Honest and attackers' mean stake per round of the settling rules, one panel per attack."""
    attacks = [a for a in ATTACKS if any(k[:3] == (dataset, a, eta) for k in cells)]
    if not attacks:
        return
    plt, fig, axes = _grid_axes(len(attacks))
    colours = {"flock": "tab:blue", "flock_v0": "tab:green", "flock_paper": "tab:orange"}
    for ax, attack in zip(axes, attacks, strict=False):
        for defence, colour in colours.items():
            cell = cells.get((dataset, attack, eta, defence))
            if cell is None or not cell.honest_stake_curve:
                continue
            rounds = range(1, len(cell.honest_stake_curve) + 1)
            ax.plot(rounds, cell.honest_stake_curve, "-", color=colour, label=f"{defence} honest")
            if cell.attacker_stake_curve:
                ax.plot(
                    rounds,
                    cell.attacker_stake_curve,
                    ":",
                    color=colour,
                    label=f"{defence} attackers",
                )
        _label_axes(ax, f"{attack}, eta {eta:g}", 70, "mean stake (tokens)")
    axes[0].legend(fontsize=6)
    title = f"{dataset}: stake of honest participants vs attackers (median of seeds)"
    _save_figure(plt, fig, title, path)
