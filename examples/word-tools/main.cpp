// word-tools: a small MCP server of its own, with mcpvisor's supervision,
// both protocol revisions, the admin endpoint and the andon cord.
//
//   word-tools --listen 127.0.0.1:8080 --admin 127.0.0.1:9090
//
// Every flag of `mcpvisor --help` works here too.

#include <mcpvisor/mcpvisor.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

using namespace mcpvisor::protocol;

namespace {

/// Counts words, lines and characters (a `wc` for the model).
tool_definition word_count() {
  tool_definition t;
  t.name = "word_count";
  t.title = "Word count";
  t.description = "Counts the words, lines and characters of a text.";
  t.input_schema = R"({"type":"object","properties":{"text":{"type":"string","maxLength":1000000}},"required":["text"],"additionalProperties":false})";
  t.output_schema = R"({"type":"object","properties":{"words":{"type":"integer"},"lines":{"type":"integer"},"characters":{"type":"integer"}},"required":["words","lines","characters"]})";
  t.annotations.read_only = true;
  t.annotations.idempotent = true;
  t.exec = execution::inline_call; // cheap and never blocks
  t.handler = [](call_context& ctx) {
    auto text = ctx.arg_string("text");
    size_t words = 0;
    bool in_word = false;
    for (unsigned char c : text) {
      bool space = std::isspace(c) != 0;
      if (!space && !in_word)
        ++words;
      in_word = !space;
    }
    auto lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n')
      ++lines;
    auto json = R"({"words":)" + std::to_string(words) + R"(,"lines":)"
                + std::to_string(lines) + R"(,"characters":)"
                + std::to_string(text.size()) + "}";
    auto r = tool_result::text(json);
    r.structured = json; // also as structuredContent, checked against output_schema
    return r;
  };
  return t;
}

/// The most frequent words, slowly: reports progress and stops when the
/// client cancels.
tool_definition top_words() {
  tool_definition t;
  t.name = "top_words";
  t.title = "Top words";
  t.description = "The most frequent words of a text, with their counts. "
                  "Reports progress; takes `delay_ms` per 1000 words.";
  t.input_schema = R"({"type":"object","properties":{"text":{"type":"string"},"count":{"type":"integer","minimum":1,"maximum":50},"delay_ms":{"type":"integer","minimum":0,"maximum":1000}},"required":["text"]})";
  t.annotations.read_only = true;
  t.handler = [](call_context& ctx) {
    std::istringstream in{std::string{ctx.arg_string("text")}};
    auto* count = find_member(&ctx.arguments(), "count");
    auto* delay = find_member(&ctx.arguments(), "delay_ms");
    size_t n = count != nullptr ? count->GetUint() : 5;
    auto pause = std::chrono::milliseconds{delay != nullptr ? delay->GetInt() : 0};
    std::map<std::string, size_t> freq;
    size_t seen = 0;
    for (std::string w; in >> w;) {
      std::transform(w.begin(), w.end(), w.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      ++freq[w];
      if (++seen % 1000 == 0) {
        ctx.progress(static_cast<double>(seen));
        if (!ctx.sleep_for(pause))
          return tool_result::error("cancelled");
      }
    }
    std::vector<std::pair<std::string, size_t>> ranked(freq.begin(), freq.end());
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](auto& a, auto& b) { return a.second > b.second; });
    std::string out;
    for (size_t i = 0; i < std::min(n, ranked.size()); ++i)
      out += ranked[i].first + " " + std::to_string(ranked[i].second) + "\n";
    return tool_result::text(out);
  };
  return t;
}

/// A prompt that asks the model to summarise a text in a given style.
prompt_definition summarise() {
  prompt_definition p;
  p.name = "summarise";
  p.title = "Summarise";
  p.description = "Asks for a summary of a text in a chosen style.";
  p.arguments = {{"text", "Text", "What to summarise", true},
                 {"style", "Style", "bullet points, one line, ...", false}};
  p.handler = [](call_context& ctx) {
    auto style = ctx.arg_string("style", "three bullet points");
    prompt_result r;
    r.description = "A summary in " + std::string{style};
    r.messages.push_back({"user", content_block::text("Summarise the following in "
                                                      + std::string{style} + ":\n\n"
                                                      + std::string{ctx.arg_string("text")})});
    return r;
  };
  return p;
}

} // namespace

int main(int argc, char** argv) {
  return mcpvisor::serve(argc, argv, [](catalog& cat) {
    for (auto t : {word_count(), top_words()})
      if (auto err = cat.add_tool(std::move(t)))
        throw std::runtime_error(*err);
    if (auto err = cat.add_prompt(summarise()))
      throw std::runtime_error(*err);
  });
}
