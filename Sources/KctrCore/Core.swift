import KctrRPC
