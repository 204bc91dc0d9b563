package eventfilter

import (
	"fmt"
	"strings"

	"github.com/antlr/antlr4/runtime/Go/antlr"
	"github.com/cloudevents/sdk-go/sql/v2/gen"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Bounds of the work CESQL LIKE does per event. The SDK matches LIKE with a backtracking scan
// that takes up to (pattern length + 1) × (text length) steps, so a long pattern over a long
// text burns seconds of CPU per event. Attribute values are at most MaxValueLen (the ingest
// refuses longer ones, and Match treats them as a failure), which bounds the text; these bound
// the patterns.
const (
	// MaxLikePattern bounds one LIKE pattern.
	MaxLikePattern = 256
	// MaxLikeSteps bounds the LIKE steps all the CESQL filters of one trigger may take on one
	// event, as LikeSteps counts them.
	MaxLikeSteps = 1 << 22
)

// stringPerByte bounds the text one byte of an expression that is not an attribute reference
// can produce: an integer or boolean turned into a string is at most 11 characters
// ("-2147483648"), a literal no longer than itself.
const stringPerByte = 11

// LikeSteps returns an upper bound of the steps the LIKE operators of the CESQL expression src
// (which parses) take on an event whose attributes are at most MaxValueLen each. The text a
// LIKE scans is at most every attribute the expression names plus what its other bytes
// produce (CONCAT adds, the other string functions shorten). It returns an error, to be
// reported on the filter's field, for a pattern over MaxLikePattern and for CONCAT_WS, whose
// separator repeats once per argument and so escapes that bound.
func LikeSteps(src string) (int, error) {
	lex := gen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(src), true))
	lex.RemoveErrorListeners()
	toks := lex.GetAllTokens()
	refs := 0
	var patterns []int
	for i, tok := range toks {
		called := i+1 < len(toks) && toks[i+1].GetTokenType() == gen.CESQLParserLexerLR_BRACKET
		switch tok.GetTokenType() {
		case gen.CESQLParserLexerIDENTIFIER, gen.CESQLParserLexerIDENTIFIER_WITH_NUMBER, gen.CESQLParserLexerFUNCTION_IDENTIFIER_WITH_UNDERSCORE:
			switch {
			case called && strings.EqualFold(tok.GetText(), "CONCAT_WS"):
				return 0, fmt.Errorf("uses CONCAT_WS, which filters do not allow (its separator repeats per argument); use CONCAT")
			case !called:
				refs++
			}
		case gen.CESQLParserLexerLIKE:
			if i+1 >= len(toks) {
				continue
			}
			// The quotes do not count; an escape counts as two bytes, which only overstates.
			n := len(toks[i+1].GetText()) - 2
			if n > MaxLikePattern {
				return 0, fmt.Errorf("has a LIKE pattern longer than %d bytes", MaxLikePattern)
			}
			patterns = append(patterns, max(n, 0))
		}
	}
	text := refs*MaxValueLen + stringPerByte*len(src)
	steps := 0
	for _, n := range patterns {
		steps += (n + 1) * text
	}
	return steps, nil
}

// fits reports whether every attribute of ev is within MaxValueLen bytes, which LikeSteps
// takes for granted; source, id and type are bounded tighter by the ingest itself.
func fits(ev *cloudevents.Event) bool {
	if len(ev.Subject()) > MaxValueLen || len(ev.DataSchema()) > MaxValueLen || len(ev.DataContentType()) > MaxValueLen ||
		len(ev.Source()) > MaxValueLen || len(ev.ID()) > MaxValueLen || len(ev.Type()) > MaxValueLen {
		return false
	}
	for _, v := range ev.Extensions() {
		s, err := types.ToString(v)
		if err != nil || len(s) > MaxValueLen {
			return false
		}
	}
	return true
}
