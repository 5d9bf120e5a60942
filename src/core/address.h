#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loom {

// True if `s` is a legal domain, product or port name: 1–63 of [a-z0-9-], starting with a letter,
// not ending with '-', no "--". Names never contain '_' so that SQL names map back one to one.
bool IsValidName(std::string_view s);
// Why `s` is not a legal name ("" if it is), for error messages.
std::string NameProblem(std::string_view s);

// The one global name of a product or a port:
//   loom://<domain>/<product>[/<port>][@<version>]
// `version` is a product version (semver, "1.2.0") or a table version ("v7" or "7").
// The scheme may be omitted when parsing ("media-player/play-events/events").
// Value type; thread-compatible.
struct Address {
  std::string domain;
  std::string product;
  std::string port;                    // empty: the product itself
  std::optional<std::string> version;  // none: current

  static Result<Address> Parse(std::string_view text);

  bool has_port() const { return !port.empty(); }
  // "loom://media-player/play-events/events@3"
  std::string ToString() const;
  // The product part only: "media-player/play-events".
  std::string ProductKey() const { return domain + "/" + product; }
  // SQL name: media_player.play_events.events (dashes as underscores).
  std::string SqlName() const;
  // HTTP path under /v1: /v1/products/media-player/play-events[/ports/events]
  std::string HttpPath() const;

  // Inverse of SqlName() for a three-part name; fails for names that map to no address.
  static Result<Address> FromSqlName(std::string_view schema_qualified);

  bool operator==(const Address&) const = default;
};

}  // namespace loom
