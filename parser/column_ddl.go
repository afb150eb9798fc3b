package parser

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/shardgate/shardgate/wire"
)

// ColumnDDL writes a column definition of a table that can hold the values
// of result column c as their own type: what a result's column definition
// says (type, length, decimals, character set, flags) read back as SQL.
// The proxy creates such tables to hand rows it read to a server again
// (derived tables over shards, materialized). ENUM and SET columns (their
// members are not in the definition) and spatial columns are refused.
func ColumnDDL(c wire.Column) (string, error) {
	unsigned := c.Flags&mysql.UNSIGNED_FLAG != 0
	sign := func(t string) string {
		if unsigned {
			t += " UNSIGNED"
		}
		if c.Flags&mysql.ZEROFILL_FLAG != 0 {
			t += " ZEROFILL"
		}
		return t
	}
	frac := func(t string) string {
		if c.Decimals > 0 && c.Decimals <= 6 {
			return fmt.Sprintf("%s(%d)", t, c.Decimals)
		}
		return t
	}
	var t string
	switch c.Type {
	case mysql.MYSQL_TYPE_TINY:
		t = sign(fmt.Sprintf("TINYINT(%d)", max(c.Length, 1)))
	case mysql.MYSQL_TYPE_SHORT:
		t = sign(fmt.Sprintf("SMALLINT(%d)", max(c.Length, 1)))
	case mysql.MYSQL_TYPE_INT24:
		t = sign(fmt.Sprintf("MEDIUMINT(%d)", max(c.Length, 1)))
	case mysql.MYSQL_TYPE_LONG:
		t = sign(fmt.Sprintf("INT(%d)", max(c.Length, 1)))
	case mysql.MYSQL_TYPE_LONGLONG:
		t = sign(fmt.Sprintf("BIGINT(%d)", min(max(c.Length, 1), 255)))
	case mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL:
		// The length counts the digits, a point when there are decimals
		// and a sign unless unsigned.
		p := int(c.Length)
		if c.Decimals > 0 {
			p--
		}
		if !unsigned {
			p--
		}
		scale := min(int(c.Decimals), 38)
		p = min(max(p, max(scale, 1)), 65)
		t = sign(fmt.Sprintf("DECIMAL(%d,%d)", p, scale))
	case mysql.MYSQL_TYPE_FLOAT:
		t = sign("FLOAT")
	case mysql.MYSQL_TYPE_DOUBLE:
		t = sign("DOUBLE")
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		t = "DATE"
	case mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_DATETIME2:
		t = frac("DATETIME")
	case mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_TIMESTAMP2:
		// NULL: no automatic default or update of the first TIMESTAMP.
		return frac("TIMESTAMP") + " NULL DEFAULT NULL", nil
	case mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		t = frac("TIME")
	case mysql.MYSQL_TYPE_YEAR:
		t = "YEAR"
	case mysql.MYSQL_TYPE_BIT:
		t = fmt.Sprintf("BIT(%d)", min(max(c.Length, 1), 64))
	case mysql.MYSQL_TYPE_NULL:
		t = "BINARY(0)"
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_STRING,
		mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET:
		if c.Type == mysql.MYSQL_TYPE_ENUM || c.Type == mysql.MYSQL_TYPE_SET || c.Flags&(mysql.ENUM_FLAG|mysql.SET_FLAG) != 0 {
			// Its members are not in the definition, and a VARCHAR of the
			// same text orders, compares with numbers and adds as a
			// string where an ENUM/SET uses its members' positions.
			return "", fmt.Errorf("an ENUM or SET column cannot be copied (its members are not known)")
		}
		fixed := c.Type == mysql.MYSQL_TYPE_STRING
		var err error
		if t, err = stringDDL(c, fixed); err != nil {
			return "", err
		}
	case mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB, mysql.MYSQL_TYPE_BLOB:
		size := "LONG"
		switch {
		case c.Length <= 255:
			size = "TINY"
		case c.Length <= 65535:
			size = ""
		case c.Length <= 16777215:
			size = "MEDIUM"
		}
		if c.Charset == 63 {
			t = size + "BLOB"
		} else {
			cs, err := collationClause(c.Charset)
			if err != nil {
				return "", err
			}
			t = size + "TEXT" + cs
		}
	default:
		return "", fmt.Errorf("a column of type %d (spatial or unknown) cannot be copied", c.Type)
	}
	if c.Flags&mysql.NOT_NULL_FLAG != 0 {
		t += " NOT NULL"
	}
	return t, nil
}

// stringDDL is a CHAR/VARCHAR (BINARY/VARBINARY) column of c's length in
// characters, or a TEXT (BLOB) type when too long for a row.
func stringDDL(c wire.Column, fixed bool) (string, error) {
	if c.Charset == 63 {
		switch {
		case fixed && c.Length <= 255:
			return fmt.Sprintf("BINARY(%d)", c.Length), nil
		case c.Length <= 16383:
			return fmt.Sprintf("VARBINARY(%d)", c.Length), nil
		case c.Length <= 16777215:
			return "MEDIUMBLOB", nil
		}
		return "LONGBLOB", nil
	}
	cs, err := collationClause(c.Charset)
	if err != nil {
		return "", err
	}
	maxLen := uint32(1)
	if info, err := charset.GetCharsetInfo(tidbCharset(charsetOfCollation(c.Charset))); err == nil && info.Maxlen > 0 {
		maxLen = uint32(info.Maxlen)
	}
	chars := c.Length / maxLen
	switch {
	case fixed && chars <= 255:
		return fmt.Sprintf("CHAR(%d)%s", chars, cs), nil
	case c.Length <= 16383: // bytes: several such columns still fit a row
		return fmt.Sprintf("VARCHAR(%d)%s", chars, cs), nil
	case c.Length <= 16777215:
		return "MEDIUMTEXT" + cs, nil
	}
	return "LONGTEXT" + cs, nil
}

// collationClause is " CHARACTER SET cs COLLATE coll" for collation id.
func collationClause(id uint16) (string, error) {
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return "", fmt.Errorf("unknown collation %d", id)
	}
	name := coll.Name
	if strings.HasPrefix(name, "utf8_") {
		name = "utf8mb3_" + strings.TrimPrefix(name, "utf8_")
	}
	return " CHARACTER SET " + charsetOfCollation(id) + " COLLATE " + name, nil
}

// tidbCharset is TiDB's name for a MariaDB character set.
func tidbCharset(cs string) string {
	if cs == "utf8mb3" {
		return "utf8"
	}
	return cs
}

// ColumnSource is what the planner knows of a derived table's column
// beyond its result column definition, which names neither its collation
// (MariaDB sends the client's character set's default, with BINARY_FLAG
// for a _bin one) nor ENUM/SET members (a UNION ALL of a server's
// physical tables drops even ENUM_FLAG).
type ColumnSource struct {
	// Type, Charset and Collation (information_schema.COLUMNS' COLUMN_TYPE,
	// CHARACTER_SET_NAME, COLLATION_NAME): the column is a plain reference
	// to a table's text, ENUM or SET column of this definition, or (Type
	// alone) to a DOUBLE or FLOAT column with fixed decimals. Type ""
	// when it is not, or the definition is not known.
	Type, Charset, Collation string
	// Collations are those of the text columns an expression reads
	// (known definitions only), each once. Derives: the expression is
	// made of columns, literals and functions whose result has their
	// text arguments' collation (UPPER, CONCAT, LEFT, MAX …), so one
	// collation there is the expression's.
	Collations []string
	Derives    bool
}

// DerivedColumnDDL is ColumnDDL for a derived table's column copied into a
// temporary table, with what src knows: a plain text, ENUM or SET column
// keeps its own definition; an expression over text columns of one
// collation has theirs when it derives it. An expression whose collation
// cannot be known and is not the result's (it reads columns of another
// collation) is refused: compared, ordered or grouped in another
// collation it would answer otherwise than one server.
func DerivedColumnDDL(c wire.Column, src ColumnSource) (string, error) {
	notNull := ""
	if c.Flags&mysql.NOT_NULL_FLAG != 0 {
		notNull = " NOT NULL"
	}
	if src.Type != "" && src.Collation == "" && fixedFloatType.MatchString(src.Type) {
		// A plain DOUBLE(M,D) or FLOAT(M,D) column: its values fit its
		// own type, which prints them with their D decimals (1.50), as
		// a bare DOUBLE would not (1.5).
		return src.Type + notNull, nil
	}
	if src.Type != "" && src.Collation != "" {
		if validName(src.Type) && validName(src.Charset) && validName(src.Collation) {
			return src.Type + " CHARACTER SET " + src.Charset + " COLLATE " + src.Collation + notNull, nil
		}
		if t := strings.ToLower(src.Type); strings.HasPrefix(t, "enum") || strings.HasPrefix(t, "set") {
			return "", fmt.Errorf("its ENUM or SET members cannot be written into a temporary table as they are (a backslash or a character beyond ASCII)")
		}
	}
	text := c.Charset != 63 && isTextType(c.Type)
	if !text {
		return ColumnDDL(c)
	}
	meta, err := collationClause(c.Charset)
	if err != nil {
		return "", err
	}
	metaColl := collationName(c.Charset)
	if c.Flags&mysql.BINARY_FLAG != 0 {
		// A _bin collation of the result's character set: the one the
		// client's character set has (the values came in it).
		metaColl = charsetOfCollation(c.Charset) + "_bin"
	}
	coll := metaColl
	switch {
	case len(src.Collations) == 0:
	case src.Derives && len(src.Collations) == 1:
		coll = src.Collations[0]
	default:
		for _, cl := range src.Collations {
			if cl != metaColl {
				return "", fmt.Errorf("its collation cannot be known (it reads columns of collation %s); copy the column itself, or CONVERT or COLLATE it explicitly", strings.Join(src.Collations, ", "))
			}
		}
	}
	ddl, err := ColumnDDL(c)
	if err != nil || coll == metaColl && c.Flags&mysql.BINARY_FLAG == 0 || !validName(coll) {
		return ddl, err
	}
	// The length stays the result's in characters (CHAR/VARCHAR count
	// characters in every character set).
	return strings.Replace(ddl, meta, " CHARACTER SET "+charsetOfName(coll)+" COLLATE "+coll, 1), nil
}

// collationName is collation id's name as MariaDB writes it.
func collationName(id uint16) string {
	coll, err := charset.GetCollationByID(int(id))
	if err != nil {
		return ""
	}
	if strings.HasPrefix(coll.Name, "utf8_") {
		return "utf8mb3_" + strings.TrimPrefix(coll.Name, "utf8_")
	}
	return coll.Name
}

// charsetOfName is the character set of a collation named coll: the name
// up to its first underscore (utf8mb4_bin: utf8mb4).
func charsetOfName(coll string) string {
	cs, _, _ := strings.Cut(coll, "_")
	return cs
}

// validName: s is a plain word of information_schema (a type as
// COLUMN_TYPE writes it included: enum('a','b') is checked by its
// quotes), safe to write into DDL as it is in any sql_mode and client
// character set: ASCII, no backslash.
// fixedFloatType is a DOUBLE, FLOAT or REAL column type with fixed
// decimals, as information_schema.COLUMNS' COLUMN_TYPE writes it.
var fixedFloatType = regexp.MustCompile(`^(double|float|real)\([0-9]+,[0-9]+\)( unsigned)?( zerofill)?$`)

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(isIdentByte(c) || c == '(' || c == ')' || c == ',' || c == ' ' || c == '\'') {
			return false
		}
	}
	return strings.Count(s, "'")%2 == 0
}

// isTextType: a result column of this type holds text (or bytes, by its
// character set).
func isTextType(t byte) bool {
	switch t {
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET,
		mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB, mysql.MYSQL_TYPE_BLOB:
		return true
	}
	return false
}
