// URI templates (RFC 6570 levels 1-3): the first line is a template, the
// rest a URI. Parsing never fails hard; a URI a template matches yields
// variables that expand again without trouble.

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/uri_template.hpp"

using namespace mcpvisor::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  auto tmpl_text = in.substr(0, nl);
  auto uri = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  std::string error;
  auto t = uri_template::parse(tmpl_text, &error);
  (void) percent_decode(uri);
  (void) percent_encode(uri, uri.size() % 2 == 0);
  if (!t)
    return 0;
  (void) t->variable_names();
  if (auto vars = t->match(uri)) {
    auto again = t->expand(*vars);
    (void) t->match(again);
  }
  uri_template::variables v{{"id", std::string{uri}}, {"path", std::string{uri}}};
  (void) t->expand(v);
  return 0;
}
