"""JUnit XML: one testcase per check, so CI systems and LMSs can read the grade."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kubelab.outcomes import GradeReport, Outcome


def render(report: GradeReport) -> str:
    suite = ET.Element(
        "testsuite", name=f"kubelab.{report.lab_id}", tests=str(len(report.results)),
        failures=str(sum(r.outcome is Outcome.FAILED for r in report.results)),
        errors=str(len(report.errors)), timestamp=report.graded_at,
        time=f"{sum(r.duration_s for r in report.results):.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", report.score), ("max_score", report.max_score), ("source", report.source),
                        ("namespace", report.namespace)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"{report.lab_id}.{result.check.category}",
                             name=result.check.id, time=f"{result.duration_s:.3f}")
        ET.SubElement(case, "properties").append(
            ET.Element("property", name="points", value=f"{result.points}/{result.check.points}"))
        if result.outcome is Outcome.FAILED:
            failure = ET.SubElement(case, "failure", message=result.message)
            failure.text = f"Indice : {result.hint}"
        elif result.outcome is Outcome.ERROR:
            ET.SubElement(case, "error", message=result.message)
        else:
            ET.SubElement(case, "system-out").text = result.message
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
