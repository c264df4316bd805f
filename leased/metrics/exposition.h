// The Prometheus text exposition format, version 0.0.4: per family "# HELP" and
// "# TYPE" lines, then one line per sample, label values escaped.
#pragma once

#include <string>
#include <vector>

#include "sample.h"

namespace vmip::metrics {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderText(const std::vector<FamilySnapshot>& families);

// Escaping rules of the format: in HELP text backslash and newline; in label values
// also the double quote.
std::string EscapeHelp(const std::string& text);
std::string EscapeLabelValue(const std::string& text);

}  // namespace vmip::metrics
