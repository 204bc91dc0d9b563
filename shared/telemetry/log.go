// Package telemetry sets up vecron's structured logging.
package telemetry

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// LogConfig configures the logger.
type LogConfig struct {
	Level  string `koanf:"level" usage:"log level: debug, info, warn or error"`
	Format string `koanf:"format" usage:"log format: json or text"`
}

// NewLogger returns a logger writing to w, or an error naming the bad setting.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmp.Or(cfg.Level, "info"))); err != nil {
		return nil, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cmp.Or(cfg.Format, "json")) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is not one of json, text", cfg.Format)
}
