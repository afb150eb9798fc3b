package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardgate/shardgate/protocol"
	"github.com/shardgate/shardgate/router"
)

// The admin HTTP interface on admin_listen, beside /metrics: every view
// SHOW SHARDGATE shows (router.View), as JSON, for admin users of the rules
// (HTTP basic authentication), so scripts need no MySQL client.
//
//	GET /admin/         the names of the views
//	GET /admin/<view>   {"columns": [...], "rows": [{column: value}, ...]}

// adminHandler serves the views of rt to the users srv admits: as a MySQL
// login, from a host the user may come from, with failures counted
// towards blocking the host (protocol.Server.HTTPLogin).
func adminHandler(rt *router.Router, srv *protocol.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="shardgate admin"`)
			http.Error(w, "an admin user of the rules is required", http.StatusUnauthorized)
			return
		}
		u, err := srv.HTTPLogin(r.RemoteAddr, user, password)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="shardgate admin"`)
			http.Error(w, "an admin user of the rules is required: "+err.Error(), http.StatusUnauthorized)
			return
		}
		if !u.Admin {
			http.Error(w, "user "+user+" is not admin", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/admin"), "/")
		if name == "" {
			json.NewEncoder(w).Encode(map[string][]string{"views": router.ViewNames})
			return
		}
		v, found := rt.View(name)
		if !found {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": "no view " + name, "views": router.ViewNames})
			return
		}
		rows := make([]map[string]string, len(v.Rows))
		for i, row := range v.Rows {
			rows[i] = make(map[string]string, len(row))
			for j, val := range row {
				rows[i][v.Columns[j]] = val
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"columns": v.Columns, "rows": rows})
	})
}

// adminCommand is `shardgate admin [flags] VIEW`: one view read from a
// running proxy's admin interface, printed as a table (or its JSON).
func adminCommand(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9104", "the proxy's admin_listen address")
	user := fs.String("user", os.Getenv("SHARDGATE_ADMIN_USER"), "an admin user of the rules (default $SHARDGATE_ADMIN_USER)")
	password := fs.String("password", "", "its password (default $SHARDGATE_ADMIN_PASSWORD)")
	asJSON := fs.Bool("json", false, "print the JSON as served")
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: shardgate admin [flags] VIEW\nviews: %s\n", strings.Join(router.ViewNames, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if *password == "" {
		*password = os.Getenv("SHARDGATE_ADMIN_PASSWORD")
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+*addr+"/admin/"+fs.Arg(0), nil)
	if err != nil {
		fmt.Fprintln(out, "shardgate admin:", err)
		return 1
	}
	req.SetBasicAuth(*user, *password)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(out, "shardgate admin:", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		fmt.Fprintln(out, "shardgate admin:", err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(out, "shardgate admin: %s: %s", resp.Status, body)
		return 1
	}
	if *asJSON {
		out.Write(body)
		return 0
	}
	var v struct {
		Columns []string            `json:"columns"`
		Rows    []map[string]string `json:"rows"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		fmt.Fprintln(out, "shardgate admin:", err)
		return 1
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(v.Columns, "\t"))
	for _, row := range v.Rows {
		vals := make([]string, len(v.Columns))
		for i, c := range v.Columns {
			vals[i] = strings.ReplaceAll(row[c], "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	tw.Flush()
	return 0
}
