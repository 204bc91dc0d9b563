package testenv_test

import (
	"log/slog"
	"testing"

	"github.com/vecron/vecron/shared/testenv"
)

func TestLoggerDropsRecordsAfterTheTest(t *testing.T) {
	t.Parallel()
	var log *slog.Logger
	t.Run("Logs", func(t *testing.T) {
		log = testenv.Logger(t)
		log.Info("shown with -v", "key", "value")
		log.Debug("below the level")
	})
	// t.Log of an ended test panics; the logger must not.
	log.Info("after the test")
}
