package parser

import (
	"fmt"
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
