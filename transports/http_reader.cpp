#include "transports/http_reader.hpp"

#include <array>
#include <exception>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "protocol/ascii.hpp"


namespace mcpvisor::transports {

namespace http = boost::beast::http;

namespace {

/// Headers read as one value: a second copy is refused rather than one of
/// them silently chosen (RFC 9112 §3.2 for Host; the others because the
/// copy the server reads must be the copy a proxy in front of it checked).
constexpr std::array<std::string_view, 10> single_fields = {
  "host",           "content-length",       "content-type",
  "origin",         "authorization",        "mcp-session-id",
  "mcp-protocol-version", "mcp-method",     "mcp-name",
  "last-event-id",
};

/// The transfer codings of every Transfer-Encoding line, in order, lower
/// case; an empty element stands for an empty list item.
std::vector<std::string> coding_list(const request_reader::request& req) {
  std::vector<std::string> out;
  for (auto& f : req) {
    if (f.name() != http::field::transfer_encoding)
      continue;
    auto before = out.size();
    for (auto token : http::token_list{f.value()}) {
      out.push_back(protocol::lower({token.data(), token.size()}));
    }
    if (out.size() == before)
      out.emplace_back(); // nothing Beast calls a token: refused below
  }
  return out;
}

} // namespace

request_reader::request_reader(const read_limits& limits) : limits_(limits) {
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
    std::min<size_t>(limits_.header_bytes, UINT32_MAX)));
  parser_->body_limit(limits_.body_bytes);
  parser_->eager(false); // stop after the header, to check it first
}

void request_reader::refuse(int status, std::string text) {
  state_ = state::refused;
  refusal_ = read_refusal{status, std::move(text)};
}

bool request_reader::check_head() {
  auto& req = parser_->get();
  // one pass over the fields (what a request carries is few and short)
  std::array<uint8_t, single_fields.size()> seen{};
  for (auto& f : req) {
    auto name = f.name_string();
    for (size_t i = 0; i < single_fields.size(); ++i) {
      if (!boost::beast::iequals(name, boost::beast::string_view{single_fields[i].data(),
                                                                 single_fields[i].size()}))
        continue;
      if (++seen[i] > 1) {
        refuse(400, "more than one " + std::string{single_fields[i]} + " header");
        return false;
      }
      break;
    }
  }
  if (req.version() >= 11 && seen[0] == 0) {
    refuse(400, "the Host header is required");
    return false;
  }
  auto codings = coding_list(req);
  if (!codings.empty()) {
    // RFC 9112 §6.1 and §6.3: the only coding served is chunked, alone;
    // with Content-Length as well the framing is ambiguous
    if (req.count(http::field::content_length) > 0) {
      refuse(400, "both Transfer-Encoding and Content-Length");
      return false;
    }
    for (size_t i = 0; i < codings.size(); ++i) {
      if (codings[i] == "chunked" && i + 1 != codings.size()) {
        refuse(400, "chunked must be the final transfer coding, once");
        return false;
      }
      if (codings[i] != "chunked") {
        refuse(501, "transfer coding '" + codings[i].substr(0, 64)
                      + "' is not supported (only chunked)");
        return false;
      }
    }
  }
  head_fields_ = static_cast<size_t>(std::distance(req.begin(), req.end()));
  // chunk extensions are parsed and dropped by Beast; they still count
  on_extension_ = [this](std::uint64_t, boost::beast::string_view ext,
                         boost::beast::error_code& ec) {
    extension_bytes_ += ext.size();
    if (extension_bytes_ > limits_.header_bytes)
      ec = http::error::bad_chunk_extension;
  };
  parser_->on_chunk_header(on_extension_);
  parser_->eager(true);
  return true;
}

size_t request_reader::feed(std::string_view buffered) noexcept {
  if (state_ != state::reading)
    return 0;
  size_t used = 0;
  try {
    while (state_ == state::reading) {
      boost::beast::error_code ec;
      auto n = parser_->put(boost::asio::const_buffer{buffered.data() + used,
                                                      buffered.size() - used},
                            ec);
      used += n;
      if (ec == http::error::need_more)
        break;
      if (ec == http::error::header_limit) {
        refuse(431, "request header larger than "
                      + std::to_string(limits_.header_bytes) + " bytes");
      } else if (ec == http::error::body_limit) {
        refuse(413, "request body larger than "
                      + std::to_string(limits_.body_bytes) + " bytes");
      } else if (ec == http::error::bad_chunk_extension
                 && extension_bytes_ > limits_.header_bytes) {
        refuse(431, "chunk extensions larger than "
                      + std::to_string(limits_.header_bytes) + " bytes");
      } else if (ec) {
        refuse(400, "malformed HTTP request: " + ec.message());
      } else if (!head_checked_ && parser_->is_header_done()) {
        head_checked_ = true;
        if (!check_head())
          break;
      }
      if (state_ == state::reading && parser_->is_done()) {
        auto fields = static_cast<size_t>(
          std::distance(parser_->get().begin(), parser_->get().end()));
        if (fields != head_fields_)
          refuse(400, "trailer fields are not accepted");
        else
          state_ = state::done;
      }
      if (n == 0 && state_ == state::reading)
        break;
    }
  } catch (const std::length_error&) {
    // Beast's field storage takes at most 64 KiB per name or value
    refuse(431, "a header field is larger than 65535 bytes");
  } catch (const std::exception& e) {
    refuse(400, std::string{"malformed HTTP request: "} + e.what());
  } catch (...) {
    refuse(400, "malformed HTTP request");
  }
  // Whatever the parser waits to see whole (the header, a chunk-size line,
  // the trailer section) is held unparsed: it may not grow past the limit.
  if (state_ == state::reading
      && buffered.size() - used >= limits_.header_bytes)
    refuse(431, "request header, chunk line or trailer section larger than "
                  + std::to_string(limits_.header_bytes) + " bytes");
  return used;
}

request_reader::request request_reader::release() {
  return parser_->release();
}

} // namespace mcpvisor::transports
