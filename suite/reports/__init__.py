"""Report sections, registered in ``suite.registry.reports`` (entry-point group ``e2ebench.reports``).

Built-in sections: ``table`` (the results table), ``curves`` and ``information-plane`` (the figures
of ``suite.plots``), ``sakamoto2024-claims`` (the claims of Sakamoto & Sato 2024) and ``breakdown``
(where end-to-end learning breaks down). A third party adds one with ``@suite.reports.section(name)``
in a plugin file or an installed package. The framework itself is ``suite.reports.core``.
"""

from suite.reports import breakdown, figures, sakamoto2024, table  # noqa: F401  (register the built-in sections)
from suite.reports.core import ReportContext, Section, section, section_names, write_report

__all__ = ["ReportContext", "Section", "section", "section_names", "write_report"]
