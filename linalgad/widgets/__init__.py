"""Widgets for the notebooks: pure models and ipywidgets views.

Each notebook widget is a ``Model`` (state + math, no display; testable
without a front end: ``model.set(...)``, ``model.result``,
``model.summary()``, ``model.figure()``) and a ``*_view(model=None)``
function returning an ipywidgets ``VBox`` (``ModelView``) with the controls,
the printed one-line summary and the plot. Views never call ``display()``:
end a cell with the view to show it. ipywidgets and matplotlib are imported
only when a view or figure is made (``pip install linalgad[notebooks]``).

=========================  ==========================  ========
model                      view                        notebook
=========================  ==========================  ========
FiniteDifferenceModel      fd_view                     01
ConventionModel            convention_view             01
DegeneracyModel            degeneracy_view             02
ExpmModel                  expm_view                   02
PhaseModel                 phase_view                  03
GaugeFDModel               gauge_fd_view               03
ProjectionModel            projection_view             04
PowerIterationModel        power_view                  05
TruncationModel            truncation_view             06
TimingModel                timing_view                 07
=========================  ==========================  ========
"""

from ._base import Model, ModelView
from .degeneracy import DegeneracyModel, ExpmModel, degeneracy_view, expm_view
from .performance import TimingModel, timing_view
from .phase import GaugeFDModel, PhaseModel, gauge_fd_view, phase_view
from .power import PowerIterationModel, power_view
from .projection import ProjectionModel, projection_view
from .tour import ConventionModel, FiniteDifferenceModel, convention_view, fd_view
from .truncated import TruncationModel, truncation_view

__all__ = [
    "Model", "ModelView",
    "FiniteDifferenceModel", "fd_view", "ConventionModel", "convention_view",
    "DegeneracyModel", "degeneracy_view", "ExpmModel", "expm_view",
    "PhaseModel", "phase_view", "GaugeFDModel", "gauge_fd_view",
    "ProjectionModel", "projection_view",
    "PowerIterationModel", "power_view",
    "TruncationModel", "truncation_view",
    "TimingModel", "timing_view",
]
