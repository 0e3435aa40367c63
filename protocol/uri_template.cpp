#include "protocol/uri_template.hpp"

#include <cctype>

namespace mcpvisor::protocol {

namespace {

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-'
         || c == '.' || c == '_' || c == '~';
}

bool is_reserved(char c) {
  switch (c) {
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*':
    case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

struct op_rules {
  const char* first;
  char sep;
  bool named;
  const char* ifemp;
  bool allow_reserved;
};

op_rules rules_for(char op) {
  switch (op) {
    case '+': return {"", ',', false, "", true};
    case '#': return {"#", ',', false, "", true};
    case '.': return {".", '.', false, "", false};
    case '/': return {"/", '/', false, "", false};
    case ';': return {";", ';', true, "", false};
    case '?': return {"?", '&', true, "=", false};
    case '&': return {"&", '&', true, "=", false};
    default: return {"", ',', false, "", false};
  }
}

/// Characters an expansion of `op` may contain.
bool allowed_in(char op, char c) {
  if (c == '%')
    return true;
  auto r = rules_for(op);
  if (r.allow_reserved)
    return is_unreserved(c) || is_reserved(c);
  // separators and name=value syntax of the operator
  if (c == r.sep || c == ',' || (r.named && c == '='))
    return true;
  if (op != 0 && r.first[0] == c)
    return true;
  return is_unreserved(c);
}

} // namespace

std::string percent_encode(std::string_view s, bool allow_reserved) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_unreserved(c) || (allow_reserved && is_reserved(c))) {
      out += c;
    } else if (allow_reserved && c == '%' && i + 2 < s.size()
               && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out.append(s.substr(i, 3));
      i += 2;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
      return std::nullopt;
    out += static_cast<char>(std::stoi(std::string{s.substr(i + 1, 2)},
                                       nullptr, 16));
    i += 2;
  }
  return out;
}

std::optional<uri_template> uri_template::parse(std::string_view text,
                                                std::string* error) {
  auto fail = [&](std::string why) -> std::optional<uri_template> {
    if (error != nullptr)
      *error = std::move(why);
    return std::nullopt;
  };
  uri_template t;
  t.text_ = std::string{text};
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '}')
      return fail("unbalanced '}' in URI template");
    if (text[i] != '{') {
      size_t next = text.find_first_of("{}", i);
      if (next == std::string_view::npos)
        next = text.size();
      if (!t.parts_.empty() && t.parts_.back().literal)
        t.parts_.back().text.append(text.substr(i, next - i));
      else
        t.parts_.push_back(part{true, std::string{text.substr(i, next - i)},
                                0, {}});
      i = next;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos)
      return fail("unterminated expression in URI template");
    auto body = text.substr(i + 1, close - i - 1);
    part p;
    p.literal = false;
    if (!body.empty() && std::string_view{"+#./;?&"}.find(body[0])
                           != std::string_view::npos) {
      p.op = body[0];
      body.remove_prefix(1);
    }
    if (body.empty())
      return fail("empty expression in URI template");
    size_t start = 0;
    while (start <= body.size()) {
      size_t comma = body.find(',', start);
      if (comma == std::string_view::npos)
        comma = body.size();
      auto spec = body.substr(start, comma - start);
      var v;
      if (!spec.empty() && spec.back() == '*') {
        v.explode = true;
        spec.remove_suffix(1);
      }
      if (auto colon = spec.find(':'); colon != std::string_view::npos) {
        auto digits = spec.substr(colon + 1);
        if (digits.empty() || digits.size() > 4)
          return fail("bad prefix modifier in URI template");
        for (char c : digits)
          if (!std::isdigit(static_cast<unsigned char>(c)))
            return fail("bad prefix modifier in URI template");
        v.prefix = std::stoul(std::string{digits});
        spec = spec.substr(0, colon);
      }
      if (spec.empty())
        return fail("empty variable name in URI template");
      for (char c : spec)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'
              || c == '.' || c == '%'))
          return fail("invalid variable name in URI template");
      v.name = std::string{spec};
      p.vars.push_back(std::move(v));
      start = comma + 1;
    }
    t.parts_.push_back(std::move(p));
    i = close + 1;
  }
  return t;
}

std::string uri_template::expand(const variables& vars) const {
  std::string out;
  for (auto& p : parts_) {
    if (p.literal) {
      out += p.text;
      continue;
    }
    auto r = rules_for(p.op);
    bool first = true;
    for (auto& v : p.vars) {
      auto it = vars.find(v.name);
      if (it == vars.end())
        continue;
      std::string_view value = it->second;
      if (v.prefix > 0 && value.size() > v.prefix)
        value = value.substr(0, v.prefix);
      out += first ? std::string_view{r.first} : std::string_view{&r.sep, 1};
      first = false;
      if (r.named) {
        out += v.name;
        if (value.empty()) {
          out += r.ifemp;
          continue;
        }
        out += '=';
      }
      out += percent_encode(value, r.allow_reserved);
    }
  }
  return out;
}

bool uri_template::assign(const part& p, std::string_view text,
                          variables& out) const {
  auto r = rules_for(p.op);
  if (!text.empty() && r.first[0] != '\0') {
    if (text[0] != r.first[0])
      return false;
    text.remove_prefix(1);
  }
  // split into the values of the expression's variables
  std::vector<std::string_view> pieces;
  size_t start = 0;
  char sep = r.sep;
  if (text.empty()) {
    pieces.clear();
  } else {
    while (start <= text.size()) {
      size_t next = text.find(sep, start);
      if (next == std::string_view::npos)
        next = text.size();
      pieces.push_back(text.substr(start, next - start));
      start = next + 1;
    }
  }
  if (pieces.size() > p.vars.size())
    return false;
  for (size_t k = 0; k < pieces.size(); ++k) {
    auto piece = pieces[k];
    const auto& v = p.vars[k];
    if (r.named) {
      auto eq = piece.find('=');
      auto name = piece.substr(0, eq);
      if (name != v.name)
        return false;
      piece = eq == std::string_view::npos ? std::string_view{}
                                           : piece.substr(eq + 1);
    }
    auto decoded = percent_decode(piece);
    if (!decoded)
      return false;
    out[v.name] = std::move(*decoded);
  }
  return true;
}

bool uri_template::match_from(size_t index, std::string_view uri, size_t pos,
                              variables& out, int& budget) const {
  if (--budget < 0)
    return false;
  if (index == parts_.size())
    return pos == uri.size();
  const auto& p = parts_[index];
  if (p.literal) {
    if (uri.substr(pos, p.text.size()) != p.text)
      return false;
    return match_from(index + 1, uri, pos + p.text.size(), out, budget);
  }
  // the longest run of characters this expression may produce
  size_t end = pos;
  while (end < uri.size() && allowed_in(p.op, uri[end]))
    ++end;
  // try the longest candidate first, then shorter ones
  for (size_t stop = end + 1; stop-- > pos;) {
    variables attempt = out;
    if (assign(p, uri.substr(pos, stop - pos), attempt)
        && match_from(index + 1, uri, stop, attempt, budget)) {
      out = std::move(attempt);
      return true;
    }
    if (budget < 0)
      return false;
  }
  return false;
}

std::optional<uri_template::variables>
uri_template::match(std::string_view uri) const {
  variables out;
  int budget = 10000;
  if (!match_from(0, uri, 0, out, budget))
    return std::nullopt;
  return out;
}

std::vector<std::string> uri_template::variable_names() const {
  std::vector<std::string> names;
  for (auto& p : parts_)
    for (auto& v : p.vars)
      names.push_back(v.name);
  return names;
}

} // namespace mcpvisor::protocol
