package wire

import "testing"

func TestRenameColumnTables(t *testing.T) {
	names := map[string]string{"comments_3": "comments", "t_9": "t"}
	for _, c := range []Column{
		{Schema: "shop", Table: "comments_3", OrgTable: "comments_3", Name: "body", OrgName: "body", Charset: 45, Length: 400, Type: 0xfc, Flags: 16, Decimals: 0},
		{Schema: "shop", Table: "c", OrgTable: "comments_3", Name: "id", OrgName: "id", Charset: 63, Length: 20, Type: 8, Flags: 3},
		{Schema: "shop", Table: "t_9", OrgTable: "", Name: "x", OrgName: "", Charset: 33, Length: 60, Type: 0xfd, Decimals: 31},
		{Schema: "shop", Table: "other", OrgTable: "other", Name: "y", OrgName: "y"},
	} {
		def := AppendColumn(nil, c)
		got, changed := RenameColumnTables(nil, def, names)
		want := c
		if l, ok := names[c.Table]; ok {
			want.Table = l
		}
		if l, ok := names[c.OrgTable]; ok {
			want.OrgTable = l
		}
		if changed != (want != c) {
			t.Errorf("%+v: changed = %v", c, changed)
		}
		if !changed {
			continue
		}
		// The same bytes as writing the renamed definition whole.
		if string(got) != string(AppendColumn(nil, want)) {
			t.Errorf("%+v:\ngot  %q\nwant %q", c, got, AppendColumn(nil, want))
		}
	}
	for _, bad := range [][]byte{nil, {0xfc}, {3, 'd', 'e'}, {3, 'd', 'e', 'f', 0xfe}} {
		if out, changed := RenameColumnTables(nil, bad, names); changed || out != nil {
			t.Errorf("malformed %q: %q %v", bad, out, changed)
		}
	}
}
