#include "app/upstream_config.hpp"

#include <cctype>
#include <chrono>

#include <toml++/toml.h>

namespace mcpvisor::app {

namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '-')
      return false;
  return true;
}

/// Splits a command line at spaces, with '...' and "..." quoting.
std::optional<std::vector<std::string>> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : text) {
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word)
        out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0)
    return std::nullopt;
  if (in_word)
    out.push_back(std::move(word));
  return out;
}

bool is_url(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

/// The config file as a TOML table; nullopt (and `error`) if it cannot be
/// read or parsed.
std::optional<toml::table> parse_file(const std::string& path, std::string& error) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    error = "cannot read " + path + ": " + std::string{e.description()};
    return std::nullopt;
  }
}

} // namespace

std::optional<actors::upstream_config> parse_upstream_flag(const std::string& flag,
                                                           std::string& error) {
  auto eq = flag.find('=');
  actors::upstream_config cfg;
  cfg.name = flag.substr(0, eq);
  if (eq == std::string::npos || !valid_name(cfg.name)) {
    error = "--upstream must be NAME=COMMAND ARGS... or NAME=URL, with a name "
            "of letters, digits, '_' and '-', not '" + flag + "'";
    return std::nullopt;
  }
  auto rest = flag.substr(eq + 1);
  if (is_url(rest)) {
    cfg.url = rest;
    return cfg;
  }
  auto words = split_words(rest);
  if (!words || words->empty()) {
    error = "--upstream " + cfg.name + ": no command (or an unclosed quote)";
    return std::nullopt;
  }
  cfg.command = std::move(*words);
  return cfg;
}

bool read_required_scopes(const std::string& path, protocol::scope_rules& out,
                          std::string& error) {
  auto file = parse_file(path, error);
  if (!file)
    return false;
  auto* rules = (*file)["required_scopes"].as_table();
  if (rules == nullptr)
    return true;
  for (auto& [key, node] : *rules) {
    std::string rule{key.str()};
    std::vector<std::string> scopes;
    bool ok = protocol::scope_rules::valid_rule(rule);
    auto take = [&](const toml::node& item) {
      auto s = item.value<std::string>();
      // one scope per string: no spaces, nothing empty
      ok = ok && s && !s->empty() && s->find(' ') == std::string::npos;
      if (ok)
        scopes.push_back(*s);
    };
    if (auto* list = node.as_array())
      for (auto& item : *list)
        take(item);
    else
      take(node);
    if (!ok || scopes.empty()) {
      error = "[required_scopes] in " + path + ": \"" + rule
              + "\" must be tool:NAME, resource:URI, prompt:NAME or \"*\", with a list of "
                "scopes (strings without spaces)";
      return false;
    }
    out.add(std::move(rule), std::move(scopes));
  }
  return true;
}

bool read_upstream_tables(const std::string& path,
                          std::vector<actors::upstream_config>& out, std::string& error) {
  auto file = parse_file(path, error);
  if (!file)
    return false;
  auto* ups = (*file)["upstream"].as_table();
  if (ups == nullptr)
    return true;
  for (auto& [key, node] : *ups) {
    actors::upstream_config cfg;
    std::vector<std::string> args;
    cfg.name = std::string{key.str()};
    auto where = "[upstream." + cfg.name + "] in " + path + ": ";
    auto* t = node.as_table();
    if (t == nullptr || !valid_name(cfg.name)) {
      error = where + "must be a table named with letters, digits, '_' and '-'";
      return false;
    }
    for (auto& [k, v] : *t) {
      auto name = std::string{k.str()};
      auto ms = [&](std::chrono::milliseconds& target) {
        auto n = v.value<int64_t>();
        if (!n || *n < 0)
          return false;
        target = std::chrono::milliseconds{*n};
        return true;
      };
      bool ok = true;
      if (name == "command") {
        if (auto s = v.value<std::string>()) {
          auto words = split_words(*s);
          ok = words && !words->empty();
          if (ok)
            cfg.command = std::move(*words);
        } else if (auto* a = v.as_array()) {
          for (auto& x : *a)
            if (auto s2 = x.value<std::string>())
              cfg.command.push_back(*s2);
            else
              ok = false;
        } else {
          ok = false;
        }
      } else if (name == "args") {
        if (auto* a = v.as_array()) {
          for (auto& x : *a)
            if (auto s = x.value<std::string>())
              args.push_back(*s);
            else
              ok = false;
        } else {
          ok = false;
        }
      } else if (name == "env" || name == "headers") {
        if (auto* e = v.as_table()) {
          for (auto& [ek, ev] : *e)
            if (auto s = ev.value<std::string>())
              (name == "env" ? cfg.env : cfg.headers)[std::string{ek.str()}] = *s;
            else
              ok = false;
        } else {
          ok = false;
        }
      } else if (name == "cwd") {
        ok = v.is_string();
        if (ok)
          cfg.cwd = *v.value<std::string>();
      } else if (name == "url") {
        ok = v.is_string() && is_url(*v.value<std::string>());
        if (ok)
          cfg.url = *v.value<std::string>();
      } else if (name == "prefix") {
        ok = v.is_string();
        if (ok)
          cfg.prefix = *v.value<std::string>();
      } else if (name == "mode") {
        auto s = v.value<std::string>();
        ok = s && (*s == "shared" || *s == "per-session");
        if (ok)
          cfg.mode = *s == "shared" ? actors::upstream_config::mode_type::shared
                                    : actors::upstream_config::mode_type::per_session;
      } else if (name == "processes" || name == "intensity" || name == "max_in_flight"
                 || name == "max_queued" || name == "max_message_bytes"
                 || name == "max_processes") {
        auto n = v.value<int64_t>();
        ok = n && *n >= 1;
        if (ok) {
          if (name == "processes")
            cfg.processes = static_cast<size_t>(*n);
          else if (name == "intensity")
            cfg.intensity = static_cast<int>(*n);
          else if (name == "max_in_flight")
            cfg.max_in_flight = static_cast<size_t>(*n);
          else if (name == "max_queued")
            cfg.max_queued = static_cast<size_t>(*n);
          else if (name == "max_processes")
            cfg.max_processes = static_cast<size_t>(*n);
          else
            cfg.max_message_bytes = static_cast<size_t>(*n);
        }
      } else if (name == "start_timeout_ms") {
        ok = ms(cfg.start_timeout);
      } else if (name == "call_timeout_ms") {
        ok = ms(cfg.call_timeout);
      } else if (name == "ping_timeout_ms") {
        ok = ms(cfg.ping_timeout);
      } else if (name == "kill_grace_ms") {
        ok = ms(cfg.kill_grace);
      } else if (name == "period_ms") {
        ok = ms(cfg.period);
      } else if (name == "retry_after_ms") {
        ok = ms(cfg.retry_after);
      } else if (name == "idle_timeout_ms") {
        ok = ms(cfg.idle_timeout) && cfg.idle_timeout.count() > 0;
      } else {
        error = where + "unknown key '" + name + "'";
        return false;
      }
      if (!ok) {
        error = where + "bad value for '" + name + "'";
        return false;
      }
    }
    cfg.command.insert(cfg.command.end(), args.begin(), args.end());
    if (cfg.command.empty() == cfg.url.empty()) {
      error = where + "needs either command or url";
      return false;
    }
    out.push_back(std::move(cfg));
  }
  return true;
}

} // namespace mcpvisor::app
