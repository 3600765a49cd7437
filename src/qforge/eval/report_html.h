// The human half of an eval report: one self-contained HTML page (inline CSS and SVG, no
// scripts or external resources) rendered from the report's JSON (schema: docs/report-format.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qforge {

// Renders the page. Tolerates missing optional sections (a report without suites, or without
// serving metrics, still renders); every string from the report is HTML-escaped.
std::string RenderHtmlReport(const nlohmann::json& report);

}  // namespace qforge
