-- TPC-H queries 1, 3, 4, 5, 6, 10, 12, 13, 14, 18, 19 (bench/tpch.Queries, one per line; a
-- unit test in bench/tpch keeps the two the same) over testdata/rules.tpch.yaml: orders and
-- lineitem sharded by the order key under one rule, customer by the customer key, part,
-- partsupp and supplier on main, nation and region global. "-- error": refused today
-- (integration/tpch_test.go asserts the same outcomes against the servers; docs/tpch.md).
-- Q1 pricing summary report
-- tables: 4
select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty, sum(l_extendedprice) as sum_base_price, sum(l_extendedprice * (1 - l_discount)) as sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge, avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price, avg(l_discount) as avg_disc, count(*) as count_order from lineitem where l_shipdate <= date '1998-12-01' - interval '90' day group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus
-- Q3 shipping priority
-- error
select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue, o_orderdate, o_shippriority from customer, orders, lineitem where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15' group by l_orderkey, o_orderdate, o_shippriority order by revenue desc, o_orderdate limit 10
-- Q4 order priority checking
-- tables: 8
select o_orderpriority, count(*) as order_count from orders where o_orderdate >= date '1993-07-01' and o_orderdate < date '1993-07-01' + interval '3' month and exists ( select * from lineitem where l_orderkey = o_orderkey and l_commitdate < l_receiptdate ) group by o_orderpriority order by o_orderpriority
-- Q5 local supplier volume
-- error
select n_name, sum(l_extendedprice * (1 - l_discount)) as revenue from customer, orders, lineitem, supplier, nation, region where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey and c_nationkey = s_nationkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey and r_name = 'ASIA' and o_orderdate >= date '1994-01-01' and o_orderdate < date '1994-01-01' + interval '1' year group by n_name order by revenue desc
-- Q6 forecasting revenue change
-- tables: 4
select sum(l_extendedprice * l_discount) as revenue from lineitem where l_shipdate >= date '1994-01-01' and l_shipdate < date '1994-01-01' + interval '1' year and l_discount between 0.06 - 0.01 and 0.06 + 0.01 and l_quantity < 24
-- Q10 returned item reporting
-- error
select c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) as revenue, c_acctbal, n_name, c_address, c_phone, c_comment from customer, orders, lineitem, nation where c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate >= date '1993-10-01' and o_orderdate < date '1993-10-01' + interval '3' month and l_returnflag = 'R' and c_nationkey = n_nationkey group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment order by revenue desc limit 20
-- Q12 shipping modes and order priority
-- tables: 8
select l_shipmode, sum(case when o_orderpriority = '1-URGENT' or o_orderpriority = '2-HIGH' then 1 else 0 end) as high_line_count, sum(case when o_orderpriority <> '1-URGENT' and o_orderpriority <> '2-HIGH' then 1 else 0 end) as low_line_count from orders, lineitem where o_orderkey = l_orderkey and l_shipmode in ('MAIL', 'SHIP') and l_commitdate < l_receiptdate and l_shipdate < l_commitdate and l_receiptdate >= date '1994-01-01' and l_receiptdate < date '1994-01-01' + interval '1' year group by l_shipmode order by l_shipmode
-- Q13 customer distribution
-- error
select c_count, count(*) as custdist from ( select c_custkey, count(o_orderkey) as c_count from customer left outer join orders on c_custkey = o_custkey and o_comment not like '%special%requests%' group by c_custkey ) as c_orders group by c_count order by custdist desc, c_count desc
-- Q14 promotion effect
select 100.00 * sum(case when p_type like 'PROMO%' then l_extendedprice * (1 - l_discount) else 0 end) / sum(l_extendedprice * (1 - l_discount)) as promo_revenue from lineitem, part where l_partkey = p_partkey and l_shipdate >= date '1995-09-01' and l_shipdate < date '1995-09-01' + interval '1' month
-- Q18 large volume customer
-- error
select c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) from customer, orders, lineitem where o_orderkey in ( select l_orderkey from lineitem group by l_orderkey having sum(l_quantity) > 300 ) and c_custkey = o_custkey and o_orderkey = l_orderkey group by c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice order by o_totalprice desc, o_orderdate limit 100
-- Q19 discounted revenue
select sum(l_extendedprice* (1 - l_discount)) as revenue from lineitem, part where ( p_partkey = l_partkey and p_brand = 'Brand#12' and p_container in ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG') and l_quantity >= 1 and l_quantity <= 1 + 10 and p_size between 1 and 5 and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON' ) or ( p_partkey = l_partkey and p_brand = 'Brand#23' and p_container in ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK') and l_quantity >= 10 and l_quantity <= 10 + 10 and p_size between 1 and 10 and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON' ) or ( p_partkey = l_partkey and p_brand = 'Brand#34' and p_container in ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG') and l_quantity >= 20 and l_quantity <= 20 + 10 and p_size between 1 and 15 and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON' )
-- Joins written with unqualified columns, as TPC-H writes them: an unqualified column
-- named like a table's shard column is that table's (or ambiguous, 1052 on the server).
-- tables: 2
select count(*) from orders, lineitem where o_orderkey = l_orderkey and o_orderkey = 7
-- tables: 2
select count(*) from orders join lineitem on l_orderkey = o_orderkey where l_orderkey = 7
-- Not the shard columns: joined in the proxy (a lookup of lineitem by l_orderkey).
select count(*) from orders, lineitem where o_custkey = l_orderkey
-- error
select count(*) from orders, lineitem where o_orderkey = l_orderkey or o_orderkey = 7
-- Subqueries correlated on the shard key of another table of the same rule (orders and
-- lineitem): each pair of physical tables answers for its own orders, as Q4.
-- tables: 8
select count(*) from orders o where not exists (select 1 from lineitem l where l.l_orderkey = o.o_orderkey and l_quantity > 40)
-- tables: 8
select o_orderkey, (select count(*) from lineitem where l_orderkey = o_orderkey) as n from orders where o_orderdate < date '1992-02-01'
-- tables: 8
select count(*) from orders where o_orderkey in (select l_orderkey from lineitem where l_returnflag = 'R')
-- tables: 8
select count(*) from lineitem where exists (select * from orders where o_orderkey = l_orderkey and o_orderstatus = 'F')
-- Pinned by the outer table's key: one pair of tables.
-- tables: 2
select o_orderkey from orders where o_orderkey = 7 and exists (select * from lineitem where l_orderkey = o_orderkey)
-- customer's rule places keys as orders' does (4 tables over s0, s1, INT keys): a
-- customer whose key equals the order's key lives in the same-numbered table.
-- tables: 8
select count(*) from orders where exists (select * from customer where c_custkey = o_orderkey)
-- Correlated on another column than the shard key, under OR, or with a table of another
-- cluster: the rows one outer row reaches live anywhere.
-- error
select count(*) from orders where exists (select * from lineitem where l_suppkey = o_custkey)
-- error
select count(*) from orders where exists (select * from part where p_partkey = o_orderkey)
-- error
select count(*) from orders where exists (select * from lineitem where l_orderkey = o_orderkey or l_quantity > 1)
