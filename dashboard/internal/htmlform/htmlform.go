// Package htmlform reads a page's form as a browser submits it, for the dashboard's tests: what
// the server rendered into the form is what a user's submit sends back.
package htmlform

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Values returns the values a browser submits for the form with id of page: every named
// control but buttons and files, a checkbox only when checked, a select's selected option.
func Values(page, id string) (url.Values, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if v, _ := attr(n, "id"); n.Type == html.ElementNode && n.Data == "form" && v == id {
			form = n
		}
		for c := n.FirstChild; c != nil && form == nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		return nil, fmt.Errorf("no form #%s", id)
	}
	out := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name, named := attr(n, "name")
			_, disabled := attr(n, "disabled")
			if named && !disabled {
				switch n.Data {
				case "input":
					typ, _ := attr(n, "type")
					value, _ := attr(n, "value")
					switch typ {
					case "submit", "button", "file", "reset", "image":
					case "checkbox", "radio":
						if _, checked := attr(n, "checked"); checked {
							if value == "" {
								value = "on"
							}
							out.Add(name, value)
						}
					default:
						out.Add(name, value)
					}
				case "textarea":
					var text strings.Builder
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						text.WriteString(c.Data)
					}
					out.Add(name, text.String())
				case "select":
					var first, chosen *string
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type != html.ElementNode || c.Data != "option" {
							continue
						}
						v, _ := attr(c, "value")
						if first == nil {
							first = &v
						}
						if _, sel := attr(c, "selected"); sel {
							chosen = &v
						}
					}
					if chosen == nil {
						chosen = first
					}
					if chosen != nil {
						out.Add(name, *chosen)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return out, nil
}
