package dashboard

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLiveEventDataCannotStartAField: whatever a rendered fragment holds, each of its lines is
// a data line, so the browser reads one event with the fragment as its data.
func TestLiveEventDataCannotStartAField(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	out := &liveOut{w: rec, rc: http.NewResponseController(rec)}
	html := "<td>a\rid: 9\r\nevent: evil\n\ndata: x\n</td>"
	out.event("job-1", html)
	require.NoError(t, out.flush())

	var frames []sseFrame
	require.ErrorContains(t, readFrames(bufio.NewReader(strings.NewReader(rec.Body.String())), func(f sseFrame) bool {
		frames = append(frames, f)
		return true
	}), "EOF")
	require.Len(t, frames, 1, rec.Body.String())
	require.Equal(t, "job-1", frames[0].name)
	require.False(t, frames[0].hasID)
	require.Equal(t, "<td>a\nid: 9\nevent: evil\n\ndata: x\n</td>", string(frames[0].data))
}
